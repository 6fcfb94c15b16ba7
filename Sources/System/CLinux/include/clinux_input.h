#ifndef CLINUX_INPUT_H
#define CLINUX_INPUT_H
/* evdev: struct input_event, EVIOC* ioctls (<linux/input.h>, <linux/input-event-codes.h>).
   Swift imports struct input_event and the plain EV_ / KEY_ / SYN_ constants directly; the EVIOC* requests are
   function-like macros (_IOW, _IOC) and ioctl(2) is variadic, so they are wrapped here. */
#include <stddef.h>
#include <linux/input.h>

/* One evdev record: struct timeval (two longs on LP64; two unsigned longs on 32-bit time64 ABIs) + type + code +
   value. 24 bytes on 64-bit targets, 16 bytes on 32-bit ones. */
_Static_assert(sizeof(struct input_event) == 2 * sizeof(unsigned long) + 8,
               "struct input_event is timeval + __u16 type + __u16 code + __s32 value (linux/input.h)");
#if defined(__LP64__)
_Static_assert(sizeof(struct input_event) == 24, "struct input_event is 24 bytes on 64-bit Linux");
#endif

/* sizeof(struct input_event): how many bytes one record takes in a read(2) from an evdev node. */
extern const size_t clinux_input_event_size;

/* EVIOCGRAB (_IOW('E', 0x90, int)). */
extern const unsigned long clinux_EVIOCGRAB;

/* Bytes of the key-state bitmap read by clinux_evdev_get_key_state: (KEY_MAX + 1) bits rounded up. */
extern const size_t clinux_evdev_key_state_bytes;

/* ioctl(fd, EVIOCGRAB, grab): 1 takes the device for this fd alone, 0 gives it back. Returns 0 or -1 + errno
   (ENOTTY when fd is not an evdev node, EBUSY when another fd holds the grab). */
int clinux_evdev_grab(int fd, int grab);

/* ioctl(fd, EVIOCGKEY(len), bits): the current state of every key, bit (code % 8) of byte (code / 8) set while
   the key is down. `len` should be clinux_evdev_key_state_bytes. Returns the ioctl's result or -1 + errno. */
int clinux_evdev_get_key_state(int fd, unsigned char *bits, size_t len);
#endif
