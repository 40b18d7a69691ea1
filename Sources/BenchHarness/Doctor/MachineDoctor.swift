/// `ringbench doctor`'s checks: what on this machine would break a pipeline
/// of rings or distort a benchmark, one finding per fact, each with its fix.
/// Every input comes through `MachineFiles`, so each check is tested with
/// faked files (DoctorTests).
public enum MachineDoctor {
    /// What the default suite needs (its largest ring is 64 slots of 64 KiB
    /// or 4096 of 1 KiB, about 4 MiB; two exist at once in a run).
    public enum SuiteNeeds {
        public static let shmBytes: UInt64 = 16 << 20
        public static let segmentBytes: Int64 = 8 << 20
        public static let segments: Int64 = 16
        public static let semaphoreSets: Int64 = 8
        public static let semaphores: Int64 = 40
        /// The SysV message-queue transport at the suite's largest size (64 KiB + mtype).
        public static let messageBytes: Int64 = 65536 + 8
        public static let openFiles: Int64 = 256
    }

    /// Docker's default /dev/shm.
    static let dockerDefaultShm: UInt64 = 64 << 20

    public static func check(_ files: MachineFiles = MachineFiles()) -> [DoctorFinding] {
        devShm(files) + namespaces(files) + removeIPC(files) + sysvLimits(files) + resourceLimits(files)
            + hugePages(files) + cpuFrequency(files) + isolatedCPUs(files) + smt(files) + numa(files)
            + clocksource(files) + virtualMachine(files) + perfEvents(files)
    }

    static func mib(_ bytes: UInt64) -> String { "\(bytes >> 20) MiB" }

    // MARK: - Shared memory and IPC

    static func devShm(_ files: MachineFiles) -> [DoctorFinding] {
        guard let space = files.space("/dev/shm") else {
            return [.init(check: "dev-shm", level: .fail, message: "/dev/shm is missing or not a filesystem: mmap rings cannot be created",
                          fix: "mount -t tmpfs -o size=1g,mode=1777 tmpfs /dev/shm (docker: --shm-size=1g)")]
        }
        if space.free < SuiteNeeds.shmBytes {
            return [.init(check: "dev-shm", level: .fail,
                          message: "/dev/shm has \(mib(space.free)) free of \(mib(space.total)); rings need \(mib(SuiteNeeds.shmBytes))",
                          fix: "remove stale rings (ringbench rm --stale) or grow it: mount -o remount,size=1g /dev/shm (docker: --shm-size=1g)")]
        }
        if space.total <= dockerDefaultShm {
            return [.init(check: "dev-shm", level: .warn,
                          message: "/dev/shm is \(mib(space.total)) (\(mib(space.free)) free), Docker's default size: a few large rings fill it",
                          fix: "mount -o remount,size=1g /dev/shm (docker: --shm-size=1g)")]
        }
        return [.init(check: "dev-shm", level: .ok, message: "/dev/shm \(mib(space.free)) free of \(mib(space.total))")]
    }

    static func namespaces(_ files: MachineFiles) -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        for (ns, meaning, fix) in [
            ("ipc", "SysV rings and queues are visible only to processes in this IPC namespace (mmap rings need a shared /dev/shm instead)",
             "run peers in one IPC namespace: docker --ipc=shareable on one container, --ipc=container:NAME on the others"),
            ("pid", "pids in ring labels (ls, stat, top) are those of the labeller's PID namespace; liveness still works (kernel-held witness locks)",
             "read pids from inside the namespace that wrote them, or share it: docker --pid=container:NAME"),
            ("mnt", "this process has its own mounts: peers see the same /dev/shm only if it is the same filesystem",
             "share /dev/shm: docker --ipc=container:NAME, or bind-mount one tmpfs into every container"),
        ] {
            guard let mine = files.link("/proc/self/ns/" + ns) else { continue }
            // The initial IPC and PID namespaces have fixed inode numbers
            // (PROC_IPC_INIT_INO, PROC_PID_INIT_INO in linux/proc_ns.h), which
            // tells even inside a container, where /proc/1 is the container's
            // own init; mount namespaces have none, so pid 1's is the reference.
            let initial: String
            if let inode = initialInodes[ns] {
                initial = "\(ns):[\(inode)]"
            } else if let pid1 = files.link("/proc/1/ns/" + ns) {
                initial = pid1
            } else {
                findings.append(.init(check: "\(ns)-namespace", level: .info,
                                      message: "cannot read /proc/1/ns/\(ns) (not root?): whether this is the initial \(ns) namespace is unknown"))
                continue
            }
            if mine == initial {
                findings.append(.init(check: "\(ns)-namespace", level: .ok, message: "initial \(ns) namespace (\(mine))"))
            } else {
                findings.append(.init(check: "\(ns)-namespace", level: .warn, message: "\(ns) namespace \(mine) is not the initial one (\(initial)): \(meaning)", fix: fix))
            }
        }
        return findings
    }

    /// Inode numbers of the initial namespaces (linux/include/linux/proc_ns.h).
    static let initialInodes = ["ipc": "4026531839", "pid": "4026531836"]

    /// systemd-logind's RemoveIPC (default yes) deletes a non-system user's
    /// SysV objects and /dev/shm files when its last session ends.
    static func removeIPC(_ files: MachineFiles) -> [DoctorFinding] {
        guard files.exists("/run/systemd/system") else {
            return [.init(check: "remove-ipc", level: .ok, message: "systemd is not running: no logind RemoveIPC")]
        }
        var setting: String?
        for file in ["/etc/systemd/logind.conf"] + files.list("/etc/systemd/logind.conf.d").filter { $0.hasSuffix(".conf") }.map({ "/etc/systemd/logind.conf.d/" + $0 }) {
            for line in (files.read(file) ?? "").split(separator: "\n") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard trimmed.hasPrefix("RemoveIPC=") else { continue }
                setting = String(trimmed.dropFirst("RemoveIPC=".count)).lowercased()
            }
        }
        let removes = setting.map { ["yes", "true", "1", "on"].contains($0) } ?? true
        let uid = files.uid() ?? 0
        // logind never removes a system user's objects (uid below 1000 on Debian).
        if removes, uid >= 1000 {
            return [.init(check: "remove-ipc", level: .warn,
                          message: "systemd-logind RemoveIPC=\(setting ?? "yes (default)"): at uid \(uid)'s last logout its SysV objects and /dev/shm files are deleted, live rings included",
                          fix: "set RemoveIPC=no in /etc/systemd/logind.conf and restart systemd-logind, or run pipelines as a system user")]
        }
        return [.init(check: "remove-ipc", level: .ok,
                      message: removes ? "RemoveIPC=\(setting ?? "yes (default)") does not apply to uid \(uid) (a system user)" : "RemoveIPC=\(setting!)")]
    }

    static func sysvLimits(_ files: MachineFiles) -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        let page = Int64(4096)
        func limit(_ name: String, _ value: Int64?, needs: Int64, unit: Int64 = 1, breaksRings: Bool, fix: String) {
            guard let value else {
                findings.append(.init(check: name, level: .info, message: "cannot read kernel.\(name)"))
                return
            }
            let (product, overflow) = value.multipliedReportingOverflow(by: unit)
            if !overflow, product < needs {
                findings.append(.init(check: name, level: breaksRings ? .fail : .warn,
                                      message: "kernel.\(name) = \(value), below the \(needs)\(unit == 1 ? "" : " bytes") the suite needs" + (breaksRings ? "" : " (the SysV message-queue transport at 64 KiB)"),
                                      fix: fix))
            } else {
                findings.append(.init(check: name, level: .ok, message: "kernel.\(name) = \(value)"))
            }
        }
        limit("shmmax", files.integer("/proc/sys/kernel/shmmax"), needs: SuiteNeeds.segmentBytes, breaksRings: true,
              fix: "sysctl -w kernel.shmmax=\(SuiteNeeds.segmentBytes * 8)")
        limit("shmall", files.integer("/proc/sys/kernel/shmall"), needs: Int64(SuiteNeeds.shmBytes), unit: page, breaksRings: true,
              fix: "sysctl -w kernel.shmall=\(Int64(SuiteNeeds.shmBytes) * 16 / page)")
        limit("shmmni", files.integer("/proc/sys/kernel/shmmni"), needs: SuiteNeeds.segments, breaksRings: true,
              fix: "sysctl -w kernel.shmmni=4096")
        let sem = files.read("/proc/sys/kernel/sem")?.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int64($0) }
        // kernel.sem is "SEMMSL SEMMNS SEMOPM SEMMNI".
        limit("semmns", sem.flatMap { $0.count == 4 ? $0[1] : nil }, needs: SuiteNeeds.semaphores, breaksRings: true,
              fix: "sysctl -w kernel.sem='32000 1024000000 500 32000'")
        limit("semmni", sem.flatMap { $0.count == 4 ? $0[3] : nil }, needs: SuiteNeeds.semaphoreSets, breaksRings: true,
              fix: "sysctl -w kernel.sem='32000 1024000000 500 32000'")
        limit("msgmax", files.integer("/proc/sys/kernel/msgmax"), needs: SuiteNeeds.messageBytes, breaksRings: false,
              fix: "sysctl -w kernel.msgmax=\(SuiteNeeds.messageBytes) kernel.msgmnb=\(SuiteNeeds.messageBytes * 4)")
        limit("msgmnb", files.integer("/proc/sys/kernel/msgmnb"), needs: SuiteNeeds.messageBytes, breaksRings: false,
              fix: "sysctl -w kernel.msgmnb=\(SuiteNeeds.messageBytes * 4)")
        return findings
    }

    /// `ulimit -n` and `-l`, from /proc/self/limits (soft limits).
    static func resourceLimits(_ files: MachineFiles) -> [DoctorFinding] {
        let lines = (files.read("/proc/self/limits") ?? "").split(separator: "\n")
        func soft(_ label: String) -> String? {
            guard let line = lines.first(where: { $0.hasPrefix(label) }) else { return nil }
            return line.dropFirst(label.count).split(separator: " ").first.map(String.init)
        }
        var findings: [DoctorFinding] = []
        if let files = soft("Max open files") {
            if let n = Int64(files), n < SuiteNeeds.openFiles {
                findings.append(.init(check: "ulimit-n", level: .warn,
                                      message: "ulimit -n is \(n): each open ring holds descriptors (mapping, witness), the suite needs \(SuiteNeeds.openFiles)",
                                      fix: "ulimit -n 4096 (limits.conf nofile, or docker --ulimit nofile=4096)"))
            } else {
                findings.append(.init(check: "ulimit-n", level: .ok, message: "ulimit -n is \(files)"))
            }
        }
        if let locked = soft("Max locked memory") {
            if locked != "unlimited", let bytes = Int64(locked), bytes < 64 << 20 {
                findings.append(.init(check: "ulimit-l", level: .info,
                                      message: "ulimit -l is \(bytes >> 10) KiB: rings cannot be locked in RAM beyond that (mlock), so a ring's pages may be swapped out under pressure",
                                      fix: "ulimit -l unlimited (limits.conf memlock, or docker --ulimit memlock=-1)"))
            } else {
                findings.append(.init(check: "ulimit-l", level: .ok, message: "ulimit -l is \(locked)"))
            }
        }
        return findings
    }

    // MARK: - Memory

    static func hugePages(_ files: MachineFiles) -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        if let thp = files.read("/sys/kernel/mm/transparent_hugepage/enabled") {
            let mode = thp.split(separator: " ").first { $0.hasPrefix("[") }.map { String($0.dropFirst().dropLast()) } ?? thp
            if mode == "always" {
                findings.append(.init(check: "thp", level: .warn,
                                      message: "transparent huge pages: always; khugepaged may collapse a process's pages mid-run (latency spikes), though shared-memory rings are not affected unless shmem_enabled says so",
                                      fix: "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled"))
            } else {
                findings.append(.init(check: "thp", level: .ok, message: "transparent huge pages: \(mode)"))
            }
        }
        let meminfo = (files.read("/proc/meminfo") ?? "").split(separator: "\n")
        if let total = meminfo.first(where: { $0.hasPrefix("HugePages_Total:") })?.split(separator: " ").last {
            let free = meminfo.first(where: { $0.hasPrefix("HugePages_Free:") })?.split(separator: " ").last ?? "?"
            findings.append(.init(check: "hugetlb", level: .info,
                                  message: total == "0" ? "no hugetlb pages reserved (rings use 4 KiB pages)" : "hugetlb pages: \(total) reserved, \(free) free"))
        }
        return findings
    }

    // MARK: - CPUs

    /// Online CPU numbers from /sys/devices/system/cpu/cpuN.
    static func cpus(_ files: MachineFiles) -> [Int] {
        files.list("/sys/devices/system/cpu").compactMap { name in
            name.hasPrefix("cpu") ? Int(name.dropFirst(3)) : nil
        }.sorted()
    }

    static func cpuFrequency(_ files: MachineFiles) -> [DoctorFinding] {
        let governors = cpus(files).compactMap { files.read("/sys/devices/system/cpu/cpu\($0)/cpufreq/scaling_governor") }
        var findings: [DoctorFinding] = []
        if governors.isEmpty {
            findings.append(.init(check: "cpufreq", level: .info, message: "no cpufreq governor exposed (a VM, or frequency fixed by firmware)"))
        } else if let other = Set(governors).subtracting(["performance"]).sorted().first {
            findings.append(.init(check: "cpufreq", level: .warn,
                                  message: "CPU frequency governor \(other) on \(governors.filter { $0 != "performance" }.count) of \(governors.count) CPUs: clocks ramp during a run and distort short measurements",
                                  fix: "cpupower frequency-set -g performance"))
        } else {
            findings.append(.init(check: "cpufreq", level: .ok, message: "governor performance on every CPU"))
        }
        if files.read("/sys/devices/system/cpu/cpufreq/boost") == "1" || files.read("/sys/devices/system/cpu/intel_pstate/no_turbo") == "0" {
            findings.append(.init(check: "boost", level: .warn,
                                  message: "turbo boost is on: the clock depends on temperature and on the other cores' load, so figures drift",
                                  fix: "echo 0 > /sys/devices/system/cpu/cpufreq/boost (intel_pstate: echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo)"))
        }
        return findings
    }

    static func isolatedCPUs(_ files: MachineFiles) -> [DoctorFinding] {
        let cmdline = files.read("/proc/cmdline") ?? ""
        let isolated = files.read("/sys/devices/system/cpu/isolated") ?? ""
        let nohz = cmdline.split(separator: " ").first { $0.hasPrefix("nohz_full=") }
        if isolated.isEmpty, nohz == nil {
            return [.init(check: "isolated-cpus", level: .info,
                          message: "no isolated CPUs (isolcpus, nohz_full): benchmark processes share their cores with everything else",
                          fix: "boot with isolcpus=2,3 nohz_full=2,3 and pin with --pin (optional)")]
        }
        return [.init(check: "isolated-cpus", level: .ok,
                      message: "isolated CPUs: \(isolated.isEmpty ? "-" : isolated)" + (nohz.map { ", \($0)" } ?? ""))]
    }

    static func smt(_ files: MachineFiles) -> [DoctorFinding] {
        var pairs: [String] = []
        for cpu in cpus(files) {
            guard let siblings = files.read("/sys/devices/system/cpu/cpu\(cpu)/topology/thread_siblings_list"),
                  siblings.contains(",") || siblings.contains("-"), !pairs.contains(siblings) else { continue }
            pairs.append(siblings)
        }
        if pairs.isEmpty { return [.init(check: "smt", level: .ok, message: "no SMT siblings among \(cpus(files).count) CPUs")] }
        return [.init(check: "smt", level: .info,
                      message: "SMT siblings share a core: \(pairs.prefix(4).joined(separator: "; "))\(pairs.count > 4 ? "; ..." : ""); a producer and consumer on siblings share L1 and look faster than two cores",
                      fix: "pin the two ends to different cores (--pin), or say which placement a figure had")]
    }

    static func numa(_ files: MachineFiles) -> [DoctorFinding] {
        let nodes = files.list("/sys/devices/system/node").compactMap { $0.hasPrefix("node") ? Int($0.dropFirst(4)) : nil }.sorted()
        guard nodes.count > 1 else {
            return [.init(check: "numa", level: .ok, message: nodes.isEmpty ? "no NUMA information (one node)" : "one NUMA node")]
        }
        let distances = nodes.map { "node\($0): " + (files.read("/sys/devices/system/node/node\($0)/distance") ?? "?") }
        return [.init(check: "numa", level: .info,
                      message: "\(nodes.count) NUMA nodes, distances \(distances.joined(separator: "; ")): a ring whose pages sit on the other node costs more",
                      fix: "place both ends and the ring on one node (ringbench numa shows the cost)")]
    }

    static func clocksource(_ files: MachineFiles) -> [DoctorFinding] {
        guard let source = files.read("/sys/devices/system/clocksource/clocksource0/current_clocksource") else { return [] }
        if source == "tsc" { return [.init(check: "clocksource", level: .ok, message: "clocksource tsc (clock reads in the vDSO)")] }
        return [.init(check: "clocksource", level: .warn,
                      message: "clocksource \(source), not tsc: every timestamp may be a system call, which inflates latency figures and slows waits",
                      fix: "use tsc if the kernel marked it stable: echo tsc > /sys/devices/system/clocksource/clocksource0/current_clocksource")]
    }

    static func virtualMachine(_ files: MachineFiles) -> [DoctorFinding] {
        let flags = (files.read("/proc/cpuinfo") ?? "").split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        let vendor = files.read("/sys/class/dmi/id/sys_vendor") ?? ""
        let product = files.read("/sys/class/dmi/id/product_name") ?? ""
        let hypervisor = flags.split(separator: " ").contains("hypervisor")
        let known = ["QEMU", "KVM", "VMware", "Microsoft", "Xen", "Amazon EC2", "Google", "innotek", "Parallels", "DigitalOcean", "Hetzner"]
            .first { vendor.contains($0) || product.contains($0) }
        guard hypervisor || known != nil else { return [.init(check: "vm", level: .ok, message: "no hypervisor seen (bare metal)")] }
        let what = [known, vendor.isEmpty ? nil : vendor].compactMap { $0 }.first ?? "hypervisor flag"
        return [.init(check: "vm", level: .warn,
                      message: "virtual machine (\(what)): the host may move vCPUs between physical cores, so the same pinning gives different cache-line costs from run to run (the probes' cache-line ns shows which placement a run had)",
                      fix: "compare only results whose probes agree (ringbench compare says when they differ), or use dedicated/pinned vCPUs")]
    }

    static func perfEvents(_ files: MachineFiles) -> [DoctorFinding] {
        guard let level = files.integer("/proc/sys/kernel/perf_event_paranoid") else { return [] }
        if level > 2 {
            return [.init(check: "perf-event-paranoid", level: .warn,
                          message: "perf_event_paranoid = \(level): perf cannot count this user's own processes (no perf stat of a run)",
                          fix: "sysctl -w kernel.perf_event_paranoid=2")]
        }
        return [.init(check: "perf-event-paranoid", level: .ok, message: "perf_event_paranoid = \(level)")]
    }
}
