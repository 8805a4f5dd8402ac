#!/bin/sh
# The test run inside dom0 (from the payload disk, mounted at /payload):
# start the Xen daemons, create the guest, wait for it to shut down, report
# its final state on the serial console, and power the machine off.
# Lines starting "XENTEST:" are read by xen/run-xen-test.sh.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /run
mkdir -p /run/lock /run/xen /var/log/xen /var/lib/xen
mount -t xenfs xenfs /proc/xen
for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xen-blkback xen-netback loop; do
    modprobe $m
done
# xenconsoled logs each guest's PV console to /var/log/xen/console/guest-NAME.log.
echo 'XENCONSOLED_ARGS="--log=guest --log-dir=/var/log/xen/console"' >> /etc/default/xen
mkdir -p /var/log/xen/console
/etc/init.d/xen start >/dev/null 2>&1
xl info | grep -E '^(xen_version|free_memory)'
ip link add xenbr0 type bridge && ip addr add 10.9.0.1/24 dev xenbr0 && ip link set xenbr0 up
# A Git repository to serve to the guest (git://10.9.0.1/site.git), when
# the payload has one; writable, for tests that push to it.
if [ -d /payload/site.git ]; then
    mkdir -p /srv/git
    cp -a /payload/site.git /srv/git/site.git
    git config --global --add safe.directory '*'
    git daemon --reuseaddr --base-path=/srv/git --export-all --listen=10.9.0.1 --detach \
        --pid-file=/run/git-daemon.pid
fi
# A DHCP server on the bridge for guests booted with ipv4=dhcp: it hands
# out 10.9.0.2 only, so the checks know the guest's address.
if grep -q 'ipv4=dhcp' /payload/guest.cfg; then
    cat > /tmp/udhcpd.conf <<EOF
start 10.9.0.2
end 10.9.0.2
interface xenbr0
lease_file /tmp/udhcpd.leases
option subnet 255.255.255.0
option router 10.9.0.1
option dns 10.9.0.1
EOF
    touch /tmp/udhcpd.leases
    busybox udhcpd -f /tmp/udhcpd.conf </dev/null >/tmp/udhcpd.log 2>&1 &
fi
# A DNS server on the bridge for guests that resolve names (resolver=):
# git.example.test is dom0.
if grep -q 'resolver=' /payload/guest.cfg; then
    dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root \
        --listen-address=10.9.0.1 --bind-interfaces \
        --address=/git.example.test/10.9.0.1 </dev/null >/tmp/dnsmasq.log 2>&1 &
fi
# A disk for the guest, when the payload has one (the payload is read-only).
[ -f /payload/disk.img ] && cp /payload/disk.img /tmp/disk.img
echo "XENTEST: dom0 ready"

name=$(sed -n 's/^name *= *"\(.*\)"/\1/p' /payload/guest.cfg)
# The guest's address, for test.sh: static (ipv4=), or the one the DHCP
# server above hands out.
ip=$(sed -n 's/.*ipv4=\([0-9.]*\)\/.*/\1/p' /payload/guest.cfg)
grep -q 'ipv4=dhcp' /payload/guest.cfg && ip=10.9.0.2
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
# The guest-specific checks (xen/dom0/test-NAME.sh, copied to the payload),
# given $name, $ip and $t0.
. /payload/test.sh
# The guest powers off (or crashes) by itself, or test.sh asked it to with
# xl shutdown; on_poweroff/on_crash are "preserve", so its final state
# stays visible in xl list.
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
