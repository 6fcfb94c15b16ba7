#include <gpiod.h>
#include "CGPIOD.h"
#ifdef GPIOD_LINE_BULK_MAX_LINES
int cgpiod_api_major(void) { return 1; }
#else
int cgpiod_api_major(void) { return 2; }
#endif
