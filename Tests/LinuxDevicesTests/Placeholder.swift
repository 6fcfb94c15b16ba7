import Testing

@Test func placeholder_LinuxDevicesTests() {}
