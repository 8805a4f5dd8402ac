# Checks for xen-hello, sourced by init.sh after xl create ($ip: the
# guest's address; $t0: the start of xl create in ns). With an address on its command line the guest serves a UDP echo on
# port 7 and a page on HTTP port 80 over netfront and our stack: check both
# and ping, then tell it to quit.
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
# The guest writes a pattern ((i % 251) ^ 0x5a) to the disk's last sector;
# byte 1 of it is 0x5b. Wait for the guest to be gone from the disk first.
i=0
while [ $i -lt 100 ] && ! xl list "$name" 2>/dev/null | awk 'NR==2 {print $5}' | grep -q s; do
    sleep 0.1
    i=$((i + 1))
done
if [ -f /tmp/disk.img ] && [ "$(dd if=/tmp/disk.img bs=1 skip=$((2047 * 512 + 1)) count=1 status=none | od -An -tx1 | tr -d ' ')" = 5b ]; then
    echo "XENTEST: disk last sector written by the guest"
else
    echo "XENTEST: disk last sector not written"
fi
