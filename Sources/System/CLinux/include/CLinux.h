#ifndef CLINUX_H
#define CLINUX_H
/* Linux kernel interfaces Swift cannot import on its own (function-like ioctl macros, kernel structs,
   enum-valued flags). Every symbol is prefixed `clinux_`; each area has its own header and .c file. */
#include "clinux_base.h"
#include "clinux_input.h"
#include "clinux_fb.h"
#include "clinux_netlink.h"
#endif
