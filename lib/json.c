/* json.c - JSON string escaping with UTF-8 validation. */
#include "json.h"

#include <stdint.h>

static const char hex[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence starting at s (n bytes left), or 0 if invalid. */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;

    if (c < 0xc2 || c >= 0xf5) {
        return 0; /* continuation byte, overlong 2-byte lead, or past U+10FFFF */
    }
    if (c < 0xe0) {
        len = 2;
        cp = c & 0x1f;
    } else if (c < 0xf0) {
        len = 3;
        cp = c & 0x0f;
    } else {
        len = 4;
        cp = c & 0x07;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
        return 0;
    }
    return len;
}

void
ft_json_put_raw_escaped(struct ft_buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    if (ft_buf_reserve(b, n + 2) != 0) {
        return;
    }
    while (i < n) {
        size_t start = i;
        /* Copy the longest run of bytes that need no escaping in one go. */
        while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\') {
            i++;
        }
        ft_buf_put(b, s + start, i - start);
        if (i == n) {
            break;
        }
        unsigned c = s[i];
        if (c >= 0x80) {
            size_t len = utf8_seq_len(s + i, n - i);
            if (len == 0) {
                ft_buf_put(b, "\xef\xbf\xbd", 3);
                i++;
            } else {
                ft_buf_put(b, s + i, len);
                i += len;
            }
            continue;
        }
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        switch (c) {
        case '"':
            ft_buf_put(b, "\\\"", 2);
            break;
        case '\\':
            ft_buf_put(b, "\\\\", 2);
            break;
        case '\n':
            ft_buf_put(b, "\\n", 2);
            break;
        case '\r':
            ft_buf_put(b, "\\r", 2);
            break;
        case '\t':
            ft_buf_put(b, "\\t", 2);
            break;
        default:
            ft_buf_put(b, esc, sizeof(esc));
            break;
        }
        i++;
    }
}

void
ft_json_put_str(struct ft_buf *b, const char *s, size_t n)
{
    ft_buf_putc(b, '"');
    ft_json_put_raw_escaped(b, s, n);
    ft_buf_putc(b, '"');
}
