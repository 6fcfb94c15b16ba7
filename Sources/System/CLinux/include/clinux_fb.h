#ifndef CLINUX_FB_H
#define CLINUX_FB_H
/* Linux framebuffer: struct fb_var_screeninfo, FBIOGET_* ioctls. */
#include <linux/fb.h>
#endif
