# Checks for the homepage appliance, sourced by init.sh after xl create
# ($ip: the guest's address; $t0: the start of xl create in ns). The guest
# clones git://git.example.test/site.git at boot (the repository made from
# xen/dom0/site; the name is answered by dom0's dnsmasq), then serves its
# zone over DNS and its site over HTTP; it polls the remote every few
# seconds. dom0 asks it over UDP and TCP, fetches the page, pushes a change
# and waits for the new page, then shuts the guest down with xl shutdown.
ms_since_create() { echo $(( ($(date +%s%N) - t0) / 1000000 )); }

soa=""
i=0
while [ $i -lt 240 ]; do
    # Until the guest has cloned its content and bound port 53, dig gets
    # no answer or "connection refused" (printed on stdout even with +short).
    soa=$(dig +short +time=1 +tries=1 @"$ip" example.org SOA 2>/dev/null | grep -v '^;;')
    [ -n "$soa" ] && break
    # A guest that crashed or powered off will not answer: stop waiting.
    case "$(xl list "$name" 2>/dev/null | awk 'NR==2 {print $5}')" in
        *c* | *s* | "") echo "XENTEST: guest stopped before answering DNS"; break ;;
    esac
    sleep 0.25
    i=$((i + 1))
done
if [ -n "$soa" ]; then
    echo "XENTEST: first dns answer $(ms_since_create) ms after xl create: $soa"
else
    echo "XENTEST: dns failed: no SOA answer"
fi
a=$(dig +short +time=2 +tries=2 @"$ip" www.example.org A)
echo "XENTEST: dns udp www.example.org A: $(echo $a)"
txt=$(dig +tcp +short +time=2 +tries=2 @"$ip" example.org TXT)
echo "XENTEST: dns tcp example.org TXT: $txt"
nx=$(dig +time=2 +tries=2 @"$ip" nothing.example.org A | sed -n 's/.*status: \([A-Z]*\).*/\1/p')
echo "XENTEST: dns nothing.example.org: $nx"

page=$(curl -sS --max-time 10 "http://$ip/")
case "$page" in
    *"Hello from a mirage-rs homepage on Xen"*) echo "XENTEST: http ok ($(ms_since_create) ms after xl create)" ;;
    *) echo "XENTEST: http failed: '$page'" ;;
esac
missing=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$ip/no-such-page")
echo "XENTEST: http missing page status $missing"

# A push to the repository the guest pulls from shows up on the site.
work=/tmp/site-work
if git clone -q /srv/git/site.git "$work" \
    && sed -i 's/Hello from a mirage-rs homepage on Xen/Updated by a git push/' "$work/site/index.html" \
    && git -C "$work" -c user.name=dom0 -c user.email=dom0@example.org commit -qam "Update the page" \
    && git -C "$work" push -q origin HEAD:main; then
    t_push=$(date +%s%N)
    updated=""
    i=0
    while [ $i -lt 120 ]; do
        case "$(curl -s --max-time 5 "http://$ip/")" in
            *"Updated by a git push"*) updated=yes; break ;;
        esac
        sleep 0.5
        i=$((i + 1))
    done
    if [ -n "$updated" ]; then
        echo "XENTEST: push served $(( ($(date +%s%N) - t_push) / 1000000 )) ms after git push"
    else
        echo "XENTEST: push not served"
    fi
else
    echo "XENTEST: push failed (dom0 git)"
fi

if timeout 60 xl shutdown -w "$name"; then
    echo "XENTEST: xl shutdown ok"
else
    echo "XENTEST: xl shutdown failed"
fi
