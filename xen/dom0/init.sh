#!/bin/sh
# The test run inside dom0 (from the payload disk, mounted at /payload):
# start the Xen daemons, create the guest, wait for it to shut down, report
# its final state on the serial console, and power the machine off.
# Lines starting "XENTEST:" are read by xen/run-xen-test.sh.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /run
mkdir -p /run/lock /run/xen /var/log/xen /var/lib/xen
mount -t xenfs xenfs /proc/xen
for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xen-blkback xen-netback; do
    modprobe $m
done
# xenconsoled logs each guest's PV console to /var/log/xen/console/guest-NAME.log.
echo 'XENCONSOLED_ARGS="--log=guest --log-dir=/var/log/xen/console"' >> /etc/default/xen
mkdir -p /var/log/xen/console
/etc/init.d/xen start >/dev/null 2>&1
xl info | grep -E '^(xen_version|free_memory)'
ip link add xenbr0 type bridge && ip addr add 10.9.0.1/24 dev xenbr0 && ip link set xenbr0 up
echo "XENTEST: dom0 ready"

name=$(sed -n 's/^name *= *"\(.*\)"/\1/p' /payload/guest.cfg)
t0=$(date +%s%N)
xl create /payload/guest.cfg
status=$?
t1=$(date +%s%N)
if [ $status = 0 ]; then
    echo "XENTEST: xl create ok in $(( (t1 - t0) / 1000000 )) ms"
elif xl list "$name" >/dev/null 2>&1; then
    # Seen once in TCG: xl itself segfaulted in libgcc_s after building and
    # starting the domain. The guest is what is under test, so go on.
    echo "XENTEST: xl create exited with status $status but domain $name exists ($(( (t1 - t0) / 1000000 )) ms)"
else
    echo "XENTEST: xl create failed with status $status"
fi
# With an address on its command line the guest serves a UDP echo on port
# 7 and a page on HTTP port 80 over netfront and our stack: check both and
# ping, then tell it to quit.
ip=$(sed -n 's/.*ipv4=\([0-9.]*\)\/.*/\1/p' /payload/guest.cfg)
if [ -n "$ip" ]; then
    answer=""
    i=0
    while [ $i -lt 60 ]; do
        # head reads the whole datagram at once (bash's read takes one byte
        # per read(2), which on a UDP socket discards the rest).
        answer=$(bash -c "exec 3<>/dev/udp/$ip/7; echo hello-from-dom0 >&3; timeout 1 head -c 16 <&3" 2>/dev/null)
        [ "$answer" = hello-from-dom0 ] && break
        i=$((i + 1))
    done
    t3=$(date +%s%N)
    if [ "$answer" = hello-from-dom0 ]; then
        echo "XENTEST: udp echo answered $(( (t3 - t0) / 1000000 )) ms after xl create"
    else
        echo "XENTEST: udp echo failed"
    fi
    if busybox ping -c 3 -W 2 "$ip"; then
        echo "XENTEST: ping ok"
    else
        echo "XENTEST: ping failed"
    fi
    page=$(curl -sS --max-time 10 "http://$ip/")
    t4=$(date +%s%N)
    if [ "$page" = "Hello from a mirage-rs unikernel" ]; then
        echo "XENTEST: http ok ($(( (t4 - t0) / 1000000 )) ms after xl create): $page"
    else
        echo "XENTEST: http failed: '$page'"
    fi
    bash -c "exec 3<>/dev/udp/$ip/7; echo quit >&3"
fi
# The guest powers off (or crashes) by itself; on_poweroff/on_crash are
# "preserve", so its final state stays visible in xl list.
state=timeout
i=0
while [ $i -lt 1200 ]; do
    s=$(xl list "$name" 2>/dev/null | awk 'NR==2 {print $5}')
    case "$s" in
        *c*) state=crashed; break ;;
        *s*) state=shutdown; break ;;
        "") state=gone; break ;;
    esac
    sleep 0.05
    i=$((i + 1))
done
t2=$(date +%s%N)
echo "XENTEST: guest state $state after $(( (t2 - t0) / 1000000 )) ms from xl create"
xl list
sed 's/^/XENTEST: pv console: /' "/var/log/xen/console/guest-$name.log" 2>/dev/null
xl destroy "$name" 2>/dev/null
echo "XENTEST: done"
echo o > /proc/sysrq-trigger
sleep 10
