#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import SystemPackage

/// The framebuffer ioctls, in swift-system's shape: a throwing method over a `Result` function over the one libc
/// call site ``system_framebufferIoctl(_:_:_:)``.
extension FileDescriptor {
    /// The variable screen information: visible and virtual resolution, panning offsets, bits per pixel and the
    /// position of red, green and blue in a pixel. C: `ioctl(fd, FBIOGET_VSCREENINFO, &var)` (linux/fb.h).
    func framebufferVariableScreenInfo() throws(Errno) -> fb_var_screeninfo {
        var info = fb_var_screeninfo()
        try framebufferIoctl(clinux_FBIOGET_VSCREENINFO, &info).get()
        return info
    }

    /// The fixed screen information: length of the framebuffer memory, bytes per line, pixel type and visual.
    /// C: `ioctl(fd, FBIOGET_FSCREENINFO, &fix)` (linux/fb.h).
    func framebufferFixedScreenInfo() throws(Errno) -> fb_fix_screeninfo {
        var info = fb_fix_screeninfo()
        try framebufferIoctl(clinux_FBIOGET_FSCREENINFO, &info).get()
        return info
    }

    /// One framebuffer ioctl whose argument is a struct the kernel fills in; EINTR is retried (ioctl has no partial
    /// effect to lose).
    private func framebufferIoctl(_ request: UInt, _ argument: UnsafeMutableRawPointer) -> Result<Void, Errno> {
        while true {
            if system_framebufferIoctl(rawValue, request, argument) >= 0 { return .success(()) }
            let error = Errno(rawValue: errno)
            if error != .interrupted { return .failure(error) }
        }
    }
}

/// The libc call site of the framebuffer ioctls.
private func system_framebufferIoctl(_ fd: CInt, _ request: UInt, _ argument: UnsafeMutableRawPointer) -> CInt {
    ioctl(fd, request, argument)
}
