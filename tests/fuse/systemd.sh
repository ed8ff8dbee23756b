#!/bin/bash
# tests/fuse/systemd.sh BUILD SECTION - systemd integration.
#   verify: `systemd-analyze verify` on contrib/systemd's units, installed into a temp dir with
#           ExecStart pointing at the built daemon (77 when systemd-analyze is missing).
#   notify: the daemon started with NOTIFY_SOCKET on a datagram socket this test listens on:
#           READY=1 must arrive, and only once the mount is usable (a file can be written
#           through it right then); SIGTERM must bring STOPPING=1, a clean unmount, exit 0.
BUILD=$1
SECTION=$2
source "$(dirname "$0")/lib.sh"
CONTRIB=$(cd "$(dirname "$0")/../../contrib/systemd" && pwd)

section_verify() {
	command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
	local d out rc=0
	d=$(mktemp -d /var/tmp/guardfs-units.XXXXXX)
	sed "s|/usr/local/sbin/guardfs|${GUARDFS}|" "${CONTRIB}/guardfs@.service" >"${d}/guardfs@demo.service"
	cp "${CONTRIB}/srv-vm.mount" "${d}/"
	out=$(cd "${d}" && systemd-analyze verify --man=no ./guardfs@demo.service ./srv-vm.mount 2>&1) || rc=$?
	rm -rf "${d}"
	[[ ${rc} -eq 0 ]] || fail "systemd-analyze verify exit ${rc}: ${out}"
	if grep -E "(guardfs@demo\.service|srv-vm\.mount|guardfs@\.service)" <<<"${out}"; then
		fail "systemd-analyze verify complains about our units"
	fi
	grep -q "^Type=notify$" "${CONTRIB}/guardfs@.service" || fail "the service is not Type=notify"
	echo PASS
}

section_notify() {
	fuse_setup
	python3 - "${GUARDFS}" "${IMG}" "${MNT}" "${T}/notify.sock" 2>>"${T}/daemon.log" <<'PY' || fail "notify protocol"
import os, signal, socket, subprocess, sys, time
guardfs, img, mnt, path = sys.argv[1:5]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(30)
env = dict(os.environ, NOTIFY_SOCKET=path)
daemon = subprocess.Popen([guardfs, img, mnt, "-f"], env=env, stderr=sys.stderr)
def mounted():
    with open("/proc/self/mounts") as f:
        return any(l.split()[1] == mnt for l in f)
try:
    msg = sock.recv(4096).decode()
    assert "READY=1" in msg.split("\n"), "first message is not READY=1: %r" % msg
    # Usable right now: the mount is there and a file goes through it.
    assert mounted(), "READY=1 before the mount exists"
    with open(os.path.join(mnt, "probe"), "w") as f:
        f.write("ready")
    with open(os.path.join(mnt, "probe")) as f:
        assert f.read() == "ready"
    daemon.send_signal(signal.SIGTERM)
    msg = sock.recv(4096).decode()
    assert "STOPPING=1" in msg.split("\n"), "no STOPPING=1 at SIGTERM: %r" % msg
    rc = daemon.wait(60)
    assert rc == 0, "daemon exit status %d after SIGTERM" % rc
    assert not mounted(), "still mounted after SIGTERM"
finally:
    if daemon.poll() is None:
        daemon.kill()
        daemon.wait()
print("notify: READY=1 after the mount was usable, STOPPING=1 at SIGTERM, exit 0")
PY
	# SIGTERM wrote everything back: the file is in the image.
	fuse_mount
	[[ $(cat "${MNT}/probe") == ready ]] || fail "the file written before SIGTERM is gone"
	fuse_umount
	echo PASS
}

section_"${SECTION}"
