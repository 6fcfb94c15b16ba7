#ifndef CGPIOD_H
#define CGPIOD_H
/* Placeholder; the shim over libgpiod 1.6 and 2.x is written in gpiod_shim.c. */
int cgpiod_api_major(void);
#endif
