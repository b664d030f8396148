"""Where the machine's CPU went during a storm (bench/run.sh).

  cpu.py sample OUT            every 10 ms until stopped: "unix_ms busy idle steal" (all cores,
                               ticks)
  cpu.py snap OUT              every process's CPU ticks, and the machine's, as JSON
  cpu.py report BEFORE AFTER SAMPLES STORM_JSON PID_A PID_B
                               one line: how busy the machine was from the storm's release
                               to its last answer, and the CPU each part took meanwhile

The storm is CPU-bound on two shared cores when the machine is busy the whole time: its
latencies are then the queue for the cores, and only less work (in the service, the client,
PostgreSQL, Redis or the kernel's TCP) makes them shorter.
"""
import json
import os
import signal
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def machine():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal: time the hypervisor gave this VM's
    # cores to someone else counts as neither busy nor idle, and is reported apart.
    return {"busy": v[0] + v[1] + v[2] + v[5] + v[6], "idle": v[3] + v[4], "softirq": v[6], "steal": v[7]}


def processes():
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        out[pid] = [comm, int(fields[11]), int(fields[12])]
    return out


def sample(path):
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    with open(path, "w") as out:
        while running:
            m = machine()
            out.write(f"{time.time() * 1000:.1f} {m['busy']} {m['idle']} {m['steal']}\n")
            time.sleep(0.01)


def report(before, after, samples, storm, pid_a, pid_b):
    b, a = json.load(open(before)), json.load(open(after))
    d = json.load(open(storm))
    released = d["released_at_unix_ms"]
    last = max(w + ms for w, ms in zip(d["written_at_ms"], d["latencies_ms"]))
    rows = [tuple(map(float, line.split())) for line in open(samples) if line.strip()]
    window = [r for r in rows if released - 10 <= r[0] <= released + last + 10]
    busy = "n/a"
    if len(window) >= 2:
        db, di, ds = (window[-1][i] - window[0][i] for i in (1, 2, 3))
        busy = f"{100 * db / max(1, db + di + ds):.0f}%"
        if ds:
            busy += f" (and {100 * ds / (db + di + ds):.0f}% taken by the host)"
    # A process present at both snapshots counts its difference (a kernel worker renames
    # itself with its work); one started in between counts whole; one gone by the end is lost
    # (the storm client counts itself).
    used = {}
    for pid, (comm, ut, st) in a["processes"].items():
        was = b["processes"].get(pid)
        if was:
            ut, st = ut - was[1], st - was[2]
        if ut or st:
            used[pid] = (comm, ut, st)
    s = lambda ticks: f"{ticks / TICK:.2f}"
    inst = [used.get(p, ("", 0, 0)) for p in (pid_a, pid_b)]
    inst_user = sum(u for _, u, _ in inst)
    inst_sys = sum(k for _, _, k in inst)
    group = lambda name: sum(u + k for c, u, k in used.values() if c == name)
    client_user, client_sys = d.get("cpu_ticks") or [0, 0]
    softirq = a["machine"]["softirq"] - b["machine"]["softirq"]
    total = a["machine"]["busy"] - b["machine"]["busy"]
    steal = a["machine"]["steal"] - b["machine"]["steal"]
    counted = inst_user + inst_sys + client_user + client_sys + group("postgres") + group("redis-server") + softirq
    others = {}
    for pid, (comm, u, k) in used.items():
        if pid not in (pid_a, pid_b) and comm not in ("postgres", "redis-server"):
            others[comm] = others.get(comm, 0) + u + k
    top = ", ".join(f"{c} {s(t)}" for c, t in sorted(others.items(), key=lambda x: -x[1])[:3] if t)
    print(
        f"machine busy {busy} from the release to the last answer ({last:.0f} ms); CPU seconds over the "
        f"client's run (connecting included): instances {s(inst_user + inst_sys)} "
        f"({s(inst_user)} user, {s(inst_sys)} kernel), client {s(client_user + client_sys)} "
        f"({s(client_sys)} kernel), PostgreSQL {s(group('postgres'))}, Redis {s(group('redis-server'))}, "
        f"softirq {s(softirq)}, the rest {s(max(0, total - counted))} ({top or 'no process'}), "
        f"all {s(total)}; taken by the host {s(steal)}"
    )


def main():
    cmd = sys.argv[1]
    if cmd == "sample":
        sample(sys.argv[2])
    elif cmd == "snap":
        json.dump({"machine": machine(), "processes": processes()}, open(sys.argv[2], "w"))
    elif cmd == "report":
        report(*sys.argv[2:8])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
