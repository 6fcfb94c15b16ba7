#include "clinux_fb.h"
#include <stddef.h>

const unsigned long clinux_FBIOGET_VSCREENINFO = FBIOGET_VSCREENINFO;
const unsigned long clinux_FBIOGET_FSCREENINFO = FBIOGET_FSCREENINFO;

const unsigned long clinux_fb_var_screeninfo_size = sizeof(struct fb_var_screeninfo);
const unsigned long clinux_fb_fix_screeninfo_size = sizeof(struct fb_fix_screeninfo);

/* The layouts Swift imports from linux/fb.h must be the kernel's: 40 __u32 fields in fb_var_screeninfo; in
   fb_fix_screeninfo an id[16], two unsigned longs, seven __u32, five __u16 and padding. A mismatch means the headers
   differ from the kernel ABI the driver was written against. */
_Static_assert(sizeof(struct fb_var_screeninfo) == 160, "struct fb_var_screeninfo is not 160 bytes");
_Static_assert(sizeof(struct fb_bitfield) == 12, "struct fb_bitfield is not 12 bytes");
_Static_assert(offsetof(struct fb_var_screeninfo, bits_per_pixel) == 24, "fb_var_screeninfo.bits_per_pixel moved");
_Static_assert(sizeof(struct fb_fix_screeninfo) == (sizeof(unsigned long) == 8 ? 80 : 68),
               "struct fb_fix_screeninfo does not have the kernel's size");
_Static_assert(offsetof(struct fb_fix_screeninfo, smem_start) == 16, "fb_fix_screeninfo.smem_start moved");
