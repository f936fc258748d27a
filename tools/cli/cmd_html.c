#include "cli.h"
int ft_cmd_html(int argc, char **argv) { (void)argc; (void)argv; return 1; }
