#ifndef CLINUX_FB_H
#define CLINUX_FB_H
/* Linux framebuffer (linux/fb.h, Documentation/fb/api.rst): struct fb_var_screeninfo, struct fb_fix_screeninfo and
   the FBIOGET_* ioctls. The request numbers are macros (_IOR-style constants), which Swift does not import, so they
   are exported as constants here. */
#include <linux/fb.h>

/* FBIOGET_VSCREENINFO (0x4600): reads struct fb_var_screeninfo (resolution, bits per pixel, RGB bitfields). */
extern const unsigned long clinux_FBIOGET_VSCREENINFO;
/* FBIOGET_FSCREENINFO (0x4602): reads struct fb_fix_screeninfo (memory length, line length, visual). */
extern const unsigned long clinux_FBIOGET_FSCREENINFO;

/* sizeof(struct fb_var_screeninfo): 160 bytes on every ABI. */
extern const unsigned long clinux_fb_var_screeninfo_size;
/* sizeof(struct fb_fix_screeninfo): 80 bytes on LP64, 68 on ILP32 (it holds two unsigned longs). */
extern const unsigned long clinux_fb_fix_screeninfo_size;
#endif
