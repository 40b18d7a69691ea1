import BenchHarness
import Foundation
import TestSupport
import XCTest

/// Every `ringbench doctor` check against faked inputs under a test root
/// (`MachineFiles`), good and bad, so no check depends on this machine.
final class DoctorTests: XCTestCase {
    var scratch: ScratchDirectory!
    var files: MachineFiles { MachineFiles(root: scratch.path) }

    override func setUpWithError() throws { scratch = try ScratchDirectory() }
    override func tearDown() { scratch = nil }

    func fake(_ path: String, _ contents: String) throws {
        let full = scratch.path + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: full, atomically: false, encoding: .utf8)
    }

    func fakeLink(_ path: String, to target: String) throws {
        let full = scratch.path + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: full, withDestinationPath: target)
    }

    func finding(_ check: String, file: StaticString = #filePath, line: UInt = #line) throws -> DoctorFinding {
        try XCTUnwrap(MachineDoctor.check(files).first { $0.check == check }, "no \(check) finding", file: file, line: line)
    }

    func testDevShmMissingTinyDockerSizedAndFine() throws {
        XCTAssertEqual(try finding("dev-shm").level, .fail, "no /dev/shm")
        try fake("/.statvfs/dev/shm", "\(64 << 20) \(8 << 20)")
        XCTAssertEqual(try finding("dev-shm").level, .fail, "8 MiB free")
        try fake("/.statvfs/dev/shm", "\(64 << 20) \(60 << 20)")
        let docker = try finding("dev-shm")
        XCTAssertEqual(docker.level, .warn)
        XCTAssertTrue(docker.message.contains("Docker"))
        XCTAssertTrue(docker.fix?.contains("--shm-size") == true)
        try fake("/.statvfs/dev/shm", "\(1 << 30) \(1 << 29)")
        XCTAssertEqual(try finding("dev-shm").level, .ok)
    }

    /// IPC and PID namespaces by the kernel's fixed inodes of the initial
    /// ones (so a container's own /proc/1 does not fool it), mount namespaces
    /// against pid 1's.
    func testNamespacesByInitialInodesAndPidOnesMounts() throws {
        try fakeLink("/proc/self/ns/ipc", to: "ipc:[4026531839]")
        try fakeLink("/proc/self/ns/pid", to: "pid:[4026532175]")
        try fakeLink("/proc/1/ns/pid", to: "pid:[4026532175]")
        try fakeLink("/proc/self/ns/mnt", to: "mnt:[4026531840]")
        XCTAssertEqual(try finding("ipc-namespace").level, .ok)
        let pid = try finding("pid-namespace")
        XCTAssertEqual(pid.level, .warn, "a container's pid 1 shares its namespace: still not the initial one")
        XCTAssertTrue(pid.message.contains("witness"))
        XCTAssertTrue(pid.fix?.contains("--pid=container:") == true)
        XCTAssertEqual(try finding("mnt-namespace").level, .info, "pid 1's unreadable")
        try fakeLink("/proc/1/ns/mnt", to: "mnt:[4026531832]")
        XCTAssertEqual(try finding("mnt-namespace").level, .warn)
        try FileManager.default.removeItem(atPath: scratch.path + "/proc/self/ns/ipc")
        try fakeLink("/proc/self/ns/ipc", to: "ipc:[4026532180]")
        let ipc = try finding("ipc-namespace")
        XCTAssertEqual(ipc.level, .warn)
        XCTAssertTrue(ipc.fix?.contains("--ipc=shareable") == true)
    }

    func testRemoveIPCDefaultsToYesForUsersAndSparesSystemUsers() throws {
        XCTAssertEqual(try finding("remove-ipc").level, .ok, "no systemd")
        try FileManager.default.createDirectory(atPath: scratch.path + "/run/systemd/system", withIntermediateDirectories: true)
        try fake("/proc/self/status", "Name:\tx\nUid:\t1000\t1000\t1000\t1000\n")
        let byDefault = try finding("remove-ipc")
        XCTAssertEqual(byDefault.level, .warn)
        XCTAssertTrue(byDefault.fix?.contains("RemoveIPC=no") == true)
        try fake("/etc/systemd/logind.conf", "[Login]\n#RemoveIPC=yes\nRemoveIPC=no\n")
        XCTAssertEqual(try finding("remove-ipc").level, .ok)
        try fake("/etc/systemd/logind.conf.d/10-ipc.conf", "[Login]\nRemoveIPC=yes\n")
        XCTAssertEqual(try finding("remove-ipc").level, .warn, "a drop-in overrides the main file")
        try fake("/proc/self/status", "Uid:\t0\t0\t0\t0\n")
        XCTAssertEqual(try finding("remove-ipc").level, .ok, "root is a system user")
    }

    func testSysVLimitsAgainstTheSuitesNeeds() throws {
        try fake("/proc/sys/kernel/shmmax", "18446744073692774399")
        try fake("/proc/sys/kernel/shmall", "1024")
        try fake("/proc/sys/kernel/shmmni", "4096")
        try fake("/proc/sys/kernel/sem", "250\t32000\t32\t4")
        try fake("/proc/sys/kernel/msgmax", "8192")
        try fake("/proc/sys/kernel/msgmnb", "1048576")
        XCTAssertEqual(try finding("shmmax").level, .ok, "the kernel's 'unlimited' does not overflow")
        XCTAssertEqual(try finding("shmall").level, .fail, "1024 pages = 4 MiB")
        XCTAssertEqual(try finding("shmmni").level, .ok)
        XCTAssertEqual(try finding("semmns").level, .ok)
        XCTAssertEqual(try finding("semmni").level, .fail, "4 sets")
        XCTAssertEqual(try finding("msgmax").level, .warn, "breaks a transport, not rings")
        XCTAssertEqual(try finding("msgmnb").level, .ok)
    }

    func testUlimitsFromProcSelfLimits() throws {
        try fake("/proc/self/limits", """
            Limit                     Soft Limit           Hard Limit           Units
            Max open files            64                   4096                 files
            Max locked memory         65536                65536                bytes
            """)
        XCTAssertEqual(try finding("ulimit-n").level, .warn)
        XCTAssertEqual(try finding("ulimit-l").level, .info)
        try fake("/proc/self/limits", """
            Max open files            20000                20000                files
            Max locked memory         unlimited            unlimited            bytes
            """)
        XCTAssertEqual(try finding("ulimit-n").level, .ok)
        XCTAssertEqual(try finding("ulimit-l").level, .ok)
    }

    func testTransparentAndHugetlbPages() throws {
        try fake("/sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never")
        try fake("/proc/meminfo", "MemTotal: 1 kB\nHugePages_Total:      16\nHugePages_Free:       12\n")
        XCTAssertEqual(try finding("thp").level, .warn)
        XCTAssertTrue(try finding("hugetlb").message.contains("16 reserved, 12 free"))
        try fake("/sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never")
        XCTAssertEqual(try finding("thp").level, .ok)
    }

    func testGovernorBoostIsolationSMTAndNUMA() throws {
        for cpu in 0..<4 {
            try fake("/sys/devices/system/cpu/cpu\(cpu)/cpufreq/scaling_governor", cpu == 3 ? "powersave" : "performance")
            try fake("/sys/devices/system/cpu/cpu\(cpu)/topology/thread_siblings_list", cpu % 2 == 0 ? "\(cpu),\(cpu + 1)" : "\(cpu - 1),\(cpu)")
        }
        try fake("/sys/devices/system/cpu/cpufreq/boost", "1")
        try fake("/proc/cmdline", "root=/dev/sda1 quiet")
        let governor = try finding("cpufreq")
        XCTAssertEqual(governor.level, .warn)
        XCTAssertTrue(governor.message.contains("powersave on 1 of 4"))
        XCTAssertEqual(try finding("boost").level, .warn)
        XCTAssertEqual(try finding("isolated-cpus").level, .info)
        let smt = try finding("smt")
        XCTAssertEqual(smt.level, .info)
        XCTAssertTrue(smt.message.contains("0,1; 2,3"))
        XCTAssertEqual(try finding("numa").level, .ok)
        try fake("/proc/cmdline", "root=/dev/sda1 isolcpus=2,3 nohz_full=2,3")
        try fake("/sys/devices/system/cpu/isolated", "2-3")
        try fake("/sys/devices/system/node/node0/distance", "10 21")
        try fake("/sys/devices/system/node/node1/distance", "21 10")
        XCTAssertEqual(try finding("isolated-cpus").level, .ok)
        let numa = try finding("numa")
        XCTAssertEqual(numa.level, .info)
        XCTAssertTrue(numa.message.contains("node1: 21 10"))
        for cpu in 0..<4 { try fake("/sys/devices/system/cpu/cpu\(cpu)/cpufreq/scaling_governor", "performance") }
        try fake("/sys/devices/system/cpu/cpufreq/boost", "0")
        XCTAssertEqual(try finding("cpufreq").level, .ok)
        XCTAssertNil(MachineDoctor.check(files).first { $0.check == "boost" })
    }

    func testClocksourceVirtualMachineAndPerfParanoia() throws {
        try fake("/sys/devices/system/clocksource/clocksource0/current_clocksource", "hpet")
        try fake("/proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu vme sse2 hypervisor avx\n")
        try fake("/sys/class/dmi/id/sys_vendor", "QEMU")
        try fake("/proc/sys/kernel/perf_event_paranoid", "3")
        XCTAssertEqual(try finding("clocksource").level, .warn)
        let vm = try finding("vm")
        XCTAssertEqual(vm.level, .warn)
        XCTAssertTrue(vm.message.contains("QEMU"))
        XCTAssertTrue(vm.message.contains("vCPU"))
        XCTAssertEqual(try finding("perf-event-paranoid").level, .warn)
        try fake("/sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc")
        try fake("/proc/cpuinfo", "flags\t\t: fpu vme sse2 avx\n")
        try fake("/sys/class/dmi/id/sys_vendor", "Dell Inc.")
        try fake("/proc/sys/kernel/perf_event_paranoid", "1")
        XCTAssertEqual(try finding("clocksource").level, .ok)
        XCTAssertEqual(try finding("vm").level, .ok)
        XCTAssertEqual(try finding("perf-event-paranoid").level, .ok)
    }

    func testCompareNamesTheChecksWhoseLevelDiffers() {
        let base = [DoctorFinding(check: "thp", level: .ok, message: "madvise"), DoctorFinding(check: "dev-shm", level: .ok, message: "900 MiB free")]
        let same = [DoctorFinding(check: "thp", level: .ok, message: "madvise"), DoctorFinding(check: "dev-shm", level: .ok, message: "800 MiB free")]
        let worse = [DoctorFinding(check: "thp", level: .warn, message: "always"), DoctorFinding(check: "dev-shm", level: .ok, message: "800 MiB free"),
                     DoctorFinding(check: "boost", level: .warn, message: "on")]
        XCTAssertNil(DoctorComparison.difference(base: [base], new: [same]), "readings differ, levels agree")
        XCTAssertNil(DoctorComparison.difference(base: [base], new: []), "a side without findings (an older file)")
        XCTAssertEqual(DoctorComparison.difference(base: [base], new: [worse]),
                       "doctor findings differ: boost absent -> warn, thp ok -> warn (ringbench doctor on each machine state says why)")
    }

    func testExitCodeIsTheWorstLevel() {
        let ok = DoctorFinding(check: "a", level: .ok, message: "")
        let info = DoctorFinding(check: "b", level: .info, message: "")
        let warn = DoctorFinding(check: "c", level: .warn, message: "", fix: "x")
        let fail = DoctorFinding(check: "d", level: .fail, message: "", fix: "y")
        XCTAssertEqual(DoctorFinding.exitCode([ok, info]), 0)
        XCTAssertEqual(DoctorFinding.exitCode([ok, warn, info]), 1)
        XCTAssertEqual(DoctorFinding.exitCode([fail, warn]), 2)
        XCTAssertEqual(warn.line, "warn  c:  -- fix: x")
    }
}
