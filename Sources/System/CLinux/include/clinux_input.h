#ifndef CLINUX_INPUT_H
#define CLINUX_INPUT_H
/* evdev: struct input_event, EVIOC* ioctls. */
#include <linux/input.h>
#endif
