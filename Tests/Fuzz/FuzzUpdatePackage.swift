// libFuzzer target for the update package parser (Sources/Update/UpdatePackage): the container header, the payload
// layout check and the manifest. Built by run-fuzz-update.sh with Sources/Codecs/*.swift and the package codec's
// files into one module (the keyring, which needs libcrypto, is left out), so no imports here.
//
// Properties checked on every input; a violation traps:
//   - header: parsed => re-serializing its manifest and signatures gives the input's first headerLength bytes;
//   - layout: for the sizes of a manifest found in the package, ranges (if accepted) are in bounds, contiguous from
//             the header and end exactly at the end of the input;
//   - manifest (the input itself as a manifest): parsed => every path passes checkPath, rendering and re-parsing
//             gives the same manifest;
//   - versions: parsed => description parses back to the same version.
// Every rejection must be an UpdatePackageError (anything else traps).

func check(_ condition: Bool, _ what: StaticString) {
    if !condition { fatalError("property violated: \(what)") }
}

func codecOnly(_ body: () throws -> Void) {
    do {
        try body()
    } catch is UpdatePackageError {
    } catch {
        fatalError("non-codec error: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []

    codecOnly {
        let package = try UnverifiedUpdatePackage(header: input[...])
        check(package.headerLength <= input.count, "header inside the input")
        check(UnverifiedUpdatePackage.header(manifest: package.manifestBytes, signatures: package.signatures) == Array(input.prefix(package.headerLength)), "header round trip")
        let manifest = try UpdateManifest(parsing: package.manifestBytes)
        let ranges = try package.checkPayloadLayout(sizes: manifest.payloads.map(\.size), packageLength: input.count)
        var offset = package.headerLength
        for range in ranges {
            check(range.lowerBound == offset && range.upperBound <= input.count, "payload ranges contiguous and in bounds")
            offset = range.upperBound
        }
        check(offset == input.count, "payloads end at the end of the package")
    }
    codecOnly {
        let manifest = try UpdateManifest(parsing: input)
        for payload in manifest.payloads { try UpdateManifest.checkPath(payload.path) }
        check(try UpdateManifest(parsing: Array(manifest.rendered().utf8)) == manifest, "manifest render round trip")
    }
    codecOnly {
        let version = try FirmwareVersion(parsing: String(decoding: input.prefix(32), as: UTF8.self))
        check(try FirmwareVersion(parsing: version.description) == version, "version round trip")
    }
    return 0
}
