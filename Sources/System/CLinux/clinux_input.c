#include "clinux_input.h"
#include <sys/ioctl.h>

const size_t clinux_input_event_size = sizeof(struct input_event);
const unsigned long clinux_EVIOCGRAB = EVIOCGRAB;
const size_t clinux_evdev_key_state_bytes = (KEY_MAX + 1 + 7) / 8;

int clinux_evdev_grab(int fd, int grab) { return ioctl(fd, EVIOCGRAB, grab); }

int clinux_evdev_get_key_state(int fd, unsigned char *bits, size_t len) {
    return ioctl(fd, EVIOCGKEY(len), bits);
}
