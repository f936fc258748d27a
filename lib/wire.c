/* wire.c - decoding and encoding of the FlowTrace stream (see wire.h). */
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the wire format is little-endian and this code reads it in host order"
#endif

#define PAD8(n) (((n) + 7u) & ~(size_t)7u)

void
ft_wire_decoder_init(struct ft_wire_decoder *d)
{
    memset(d, 0, sizeof(*d));
}

void
ft_wire_decoder_close(struct ft_wire_decoder *d)
{
    free(d->buf);
    memset(d, 0, sizeof(*d));
}

/* Drops the bytes already returned. */
static void
compact(struct ft_wire_decoder *d)
{
    if (d->off > 0) {
        memmove(d->buf, d->buf + d->off, d->len - d->off);
        d->len -= d->off;
        d->consumed += d->off;
        d->off = 0;
    }
}

static int
resize(struct ft_wire_decoder *d, size_t cap)
{
    uint8_t *nb = realloc(d->buf, cap);

    if (nb == NULL) {
        return -ENOMEM;
    }
    d->buf = nb;
    d->cap = cap;
    return 0;
}

int
ft_wire_decoder_feed(struct ft_wire_decoder *d, const void *data, size_t n)
{
    if (d->off > 0 && (d->off == d->len || d->off > d->cap / 2)) {
        compact(d); /* before growing, so the buffer stays about one read big */
    }
    if (d->len + n > d->cap) {
        size_t cap = d->cap ? d->cap : 65536;
        while (cap < d->len + n) {
            cap *= 2;
        }
        if (resize(d, cap) != 0) {
            return -ENOMEM;
        }
    }
    memcpy(d->buf + d->len, data, n);
    d->len += n;
    return 0;
}

uint8_t *
ft_wire_decoder_space(struct ft_wire_decoder *d, size_t *n)
{
    /* Room for what the next frame or record needs, and a read's worth more. */
    size_t want = d->need + 4096 > FT_WIRE_DECODE_BUF ? d->need + 4096 : FT_WIRE_DECODE_BUF;

    compact(d);
    if (d->cap < want || (d->cap > want && d->len < want)) {
        if (resize(d, want) != 0 && d->cap < want) {
            return NULL; /* failing to shrink is harmless */
        }
    }
    *n = d->cap - d->len;
    return d->buf + d->len;
}

void
ft_wire_decoder_commit(struct ft_wire_decoder *d, size_t n)
{
    d->len += n;
}

ssize_t
ft_wire_decoder_read(struct ft_wire_decoder *d, int fd)
{
    size_t room = 0;
    uint8_t *at = ft_wire_decoder_space(d, &room);
    ssize_t n;

    if (at == NULL) {
        return -ENOMEM;
    }
    do {
        n = read(fd, at, room);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    ft_wire_decoder_commit(d, (size_t)n);
    return n;
}

int
ft_wire_check_hdr(const struct ft_frame_hdr *h)
{
    if (h->magic != FT_WIRE_MAGIC) {
        return FT_EBADMAGIC;
    }
    if (h->type == 0 || h->type > FT_FRAME_TYPE_MAX) {
        return FT_EBADFRAME;
    }
    if (h->len > FT_FRAME_MAX) {
        return FT_ETOOBIG;
    }
    return 0;
}

/* The size of the record starting with word w0; SIZE_MAX for kind 0 (malformed). Once
 * per record of a frame that comes out in pieces: kept to a few instructions. */
static inline size_t
rec_size(uint64_t w0)
{
    unsigned kind = (unsigned)(w0 & 0xff);

    if (kind > FT_REC_EXTRA_MAX) {
        /* Value records and, from 1.9, the commonest events (CALL_INTS, RETURN_INT). */
        return (w0 >> 8) > FT_FRAME_MAX ? SIZE_MAX : 8 + PAD8(w0 >> 8);
    }
    if (kind == 0) {
        return SIZE_MAX;
    }
    return kind <= FT_REC_FIXED_MAX ? 16 : 24;
}

/* The next piece of the EVENTS frame coming out in pieces: the whole records held, or
 * (a record overrunning the frame) the bytes held up to the frame's end; open, every
 * byte held. */
static int
next_piece(struct ft_wire_decoder *d, struct ft_frame *f)
{
    size_t avail = d->len - d->off, lim = avail < d->rest ? avail : d->rest, take = 0, room = lim;
    const uint8_t *p = d->buf + d->off;

    f->more = 0;
    if (lim == d->rest) {
        /* The frame's last bytes, all held: whole records, or one the reader reports as
         * malformed (what the scan would hand out too, in one piece or two). */
        take = lim;
        room = 0;
    } else if (d->open) {
        if (lim == 0 || lim < d->need) {
            d->need = d->need > 8 ? d->need : 8; /* a record given back waits to be whole */
            return 0;
        }
        take = lim;
        room = 0;
        f->more = d->rest - (uint32_t)lim;
    }
    /* Once per record (room: what is held after take). A variable record's size skips
     * rec_size's bound: a length past FT_FRAME_MAX overruns the frame as surely. */
    while (room >= 8) {
        uint64_t w0;
        size_t sz;
        memcpy(&w0, p + take, 8);
        sz = (w0 & 0xff) > FT_REC_EXTRA_MAX ? 8 + PAD8(w0 >> 8) : rec_size(w0);
        if (sz > room) {
            if (sz > d->rest - take) {
                take = lim; /* malformed: the reader reports the record */
            }
            break;
        }
        take += sz;
        room -= sz;
    }
    if (take == 0) {
        uint64_t w0 = 0;
        if (lim >= 8) {
            memcpy(&w0, p, 8);
        }
        d->need = lim >= 8 ? rec_size(w0) : 8;
        return 0;
    }
    f->hdr = d->cur;
    f->hdr.len = (uint32_t)take;
    f->payload = p;
    f->offset = d->cur_offset;
    d->off += take;
    d->rest -= (uint32_t)take;
    d->need = 0;
    return 1;
}

int
ft_wire_next_frame(struct ft_wire_decoder *d, struct ft_frame *f)
{
    struct ft_frame_hdr h;
    size_t avail;
    int err;

    if (d->err) {
        return d->err;
    }
    if (d->rest > 0) {
        return next_piece(d, f);
    }
    avail = d->len - d->off;
    if (avail < sizeof(h)) {
        d->need = sizeof(h);
        return 0;
    }
    memcpy(&h, d->buf + d->off, sizeof(h));
    err = ft_wire_check_hdr(&h);
    if (err) {
        d->err = err;
        return err;
    }
    if (avail - sizeof(h) < h.len) {
        if (h.type == FT_FRAME_EVENTS && h.len > FT_WIRE_HOLD) {
            d->cur = h;
            d->cur_offset = d->consumed + d->off;
            d->rest = h.len;
            d->off += sizeof(h);
            return next_piece(d, f);
        }
        d->need = sizeof(h) + h.len;
        return 0;
    }
    f->hdr = h;
    f->payload = d->buf + d->off + sizeof(h);
    f->offset = d->consumed + d->off;
    f->more = 0;
    d->off += sizeof(h) + h.len;
    d->need = 0;
    return 1;
}

void
ft_wire_decoder_open(struct ft_wire_decoder *d)
{
    d->open = 1;
}

int
ft_wire_rec_cut(const uint8_t *p, size_t left, size_t more)
{
    uint64_t w0;
    size_t sz;

    if (left < 8) {
        return left + more >= 8; /* its first word is still coming */
    }
    memcpy(&w0, p, 8);
    sz = rec_size(w0);
    return sz != SIZE_MAX && sz > left && sz - left <= more;
}

void
ft_wire_decoder_unread(struct ft_wire_decoder *d, size_t n)
{
    uint64_t w0;

    if (n == 0) {
        return;
    }
    d->off -= n;
    d->rest += (uint32_t)n;
    d->need = 8;
    if (n >= 8) {
        memcpy(&w0, d->buf + d->off, 8);
        d->need = rec_size(w0);
    }
}

size_t
ft_wire_decoder_pending(const struct ft_wire_decoder *d)
{
    return d->len - d->off + d->rest;
}

uint64_t
ft_wire_decoder_offset(const struct ft_wire_decoder *d)
{
    return d->rest > 0 ? d->cur_offset : d->consumed + d->off;
}

int
ft_tlv_next(const uint8_t *p, size_t n, size_t *pos, uint32_t *tag, const uint8_t **val,
            uint32_t *len)
{
    struct ft_tlv_hdr t;

    if (*pos == n) {
        return 0;
    }
    if (n - *pos < sizeof(t)) {
        return FT_EBADFRAME;
    }
    memcpy(&t, p + *pos, sizeof(t));
    if (n - *pos - sizeof(t) < t.len) {
        return FT_EBADFRAME;
    }
    *tag = t.tag;
    *len = t.len;
    *val = p + *pos + sizeof(t);
    *pos += sizeof(t) + t.len;
    return 1;
}

int
ft_exc_field(const uint8_t *p, size_t len, uint32_t tag, const uint8_t **val, uint32_t *n)
{
    size_t pos = 0;
    uint32_t t;
    int r;

    for (int i = 0; i < 3; i++) { /* type, module, message */
        uint32_t tl;
        if (len - pos < 4) {
            return FT_EBADFRAME;
        }
        memcpy(&tl, p + pos, 4);
        if (tl > len - pos - 4) {
            return FT_EBADFRAME;
        }
        pos += 4 + (size_t)tl;
    }
    while ((r = ft_tlv_next(p, len, &pos, &t, val, n)) == 1) {
        if (t == tag) {
            return 1;
        }
    }
    return r;
}

int
ft_tlv_u64(const uint8_t *val, uint32_t len, uint64_t *out)
{
    if (len != 8) {
        return FT_EBADFRAME;
    }
    memcpy(out, val, 8);
    return 0;
}

size_t
ft_def_size(size_t module_len, size_t name_len, size_t file_len, size_t params_len)
{
    return PAD8(sizeof(struct ft_def) + module_len + name_len + file_len + params_len);
}

int
ft_def_next(const uint8_t *p, size_t n, size_t *pos, struct ft_def_view *v)
{
    struct ft_def d;
    size_t left, strs;
    const char *s;

    if (*pos == n) {
        return 0;
    }
    left = n - *pos;
    if (left < sizeof(d)) {
        return FT_EBADFRAME;
    }
    memcpy(&d, p + *pos, sizeof(d));
    strs = (size_t)d.module_len + d.name_len + d.file_len + d.params_len;
    if (d.id == 0 || strs > left - sizeof(d) || PAD8(sizeof(d) + strs) > left) {
        return FT_EBADFRAME;
    }
    s = (const char *)p + *pos + sizeof(d);
    v->id = d.id;
    v->flags = d.flags;
    v->line = d.line;
    v->module = s;
    v->module_len = d.module_len;
    v->name = s + d.module_len;
    v->name_len = d.name_len;
    v->file = v->name + d.name_len;
    v->file_len = d.file_len;
    v->params = v->file + d.file_len;
    v->params_len = d.params_len;
    *pos += PAD8(sizeof(d) + strs);
    return 1;
}

int
ft_put_hdr(uint8_t *out, size_t cap, size_t *pos, unsigned type, uint32_t thread, uint32_t len)
{
    struct ft_frame_hdr h = {FT_WIRE_MAGIC, (uint16_t)type, 0, len, thread};

    if (cap - *pos < sizeof(h) || *pos > cap) {
        return -ENOSPC;
    }
    memcpy(out + *pos, &h, sizeof(h));
    *pos += sizeof(h);
    return 0;
}

int
ft_put_tlv_str(uint8_t *out, size_t cap, size_t *pos, uint32_t tag, const void *s, size_t n)
{
    struct ft_tlv_hdr t = {tag, (uint32_t)n};

    if (*pos > cap || cap - *pos < sizeof(t) || cap - *pos - sizeof(t) < n) {
        return -ENOSPC;
    }
    memcpy(out + *pos, &t, sizeof(t));
    if (n > 0) {
        memcpy(out + *pos + sizeof(t), s, n);
    }
    *pos += sizeof(t) + n;
    return 0;
}

int
ft_put_tlv_u64(uint8_t *out, size_t cap, size_t *pos, uint32_t tag, uint64_t v)
{
    return ft_put_tlv_str(out, cap, pos, tag, &v, sizeof(v));
}

int
ft_put_def(uint8_t *out, size_t cap, size_t *pos, const struct ft_def_view *v)
{
    struct ft_def d = {v->id,       v->flags,    v->line,      v->module_len,
                       v->name_len, v->file_len, v->params_len};
    size_t sz = ft_def_size(v->module_len, v->name_len, v->file_len, v->params_len);
    uint8_t *p;

    if (*pos > cap || cap - *pos < sz) {
        return -ENOSPC;
    }
    p = out + *pos;
    memcpy(p, &d, sizeof(d));
    p += sizeof(d);
    memcpy(p, v->module, v->module_len);
    p += v->module_len;
    memcpy(p, v->name, v->name_len);
    p += v->name_len;
    memcpy(p, v->file, v->file_len);
    p += v->file_len;
    if (v->params_len > 0) {
        memcpy(p, v->params, v->params_len);
        p += v->params_len;
    }
    memset(p, 0, (size_t)(out + *pos + sz - p));
    *pos += sz;
    return 0;
}

void
ft_patch_len(uint8_t *out, size_t hdr_pos, size_t end)
{
    uint32_t len = (uint32_t)(end - hdr_pos - sizeof(struct ft_frame_hdr));

    memcpy(out + hdr_pos + offsetof(struct ft_frame_hdr, len), &len, sizeof(len));
}

const char *
ft_wire_end_name(int how)
{
    static const char *const names[] = {"running", "exit", "exception", "os._exit",
                                        "signal",  "exec", "killed",    "detached"};

    return how >= 0 && how <= FT_END_DETACHED ? names[how] : "unknown";
}
