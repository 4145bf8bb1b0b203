// Package ipvsfix holds fixtures the ipvs and ipvs/ipvsadm tests share.
package ipvsfix

// CrossRules covers schedulers, flags, families, forwarding methods and
// tunnels in ipvsadm-save -n's rule syntax; package ipvs's tests have the
// same table as ipvs values (crossTable).
const CrossRules = `-A -t 10.0.0.100:80 -s wrr
-a -t 10.0.0.100:80 -r 10.0.0.110:80 -g -w 1
-a -t 10.0.0.100:80 -r 10.0.0.120:80 -g -w 2
-A -t 10.0.0.101:443 -s rr -p 10 -M 255.255.255.0
-a -t 10.0.0.101:443 -r 10.0.0.110:443 -g -w 1
-a -t 10.0.0.101:443 -r 10.0.0.120:443 -g -w 0
-A -t 10.0.0.103:80 -s wlc
-A -u 10.0.0.100:53 -s sh -o -b sh-fallback,sh-port
-a -u 10.0.0.100:53 -r 10.0.0.110:5353 -m -w 3 -x 100 -y 20
-A -u 10.0.0.102:5060 -s rr -p 60 --pe sip
-A --sctp-service 10.0.0.100:3868 -s lblcr
-a --sctp-service 10.0.0.100:3868 -r 10.0.0.130:3868 -i -w 1 --tun-type ipip
-a --sctp-service 10.0.0.100:3868 -r 10.0.0.140:3868 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum
-a --sctp-service 10.0.0.100:3868 -r 10.0.0.150:3868 -i -w 3 --tun-type gre --tun-csum
-a --sctp-service 10.0.0.100:3868 -r 10.0.0.160:3868 -i -w 4 --tun-type gue --tun-port 7000 --tun-nocsum
-a --sctp-service 10.0.0.100:3868 -r 127.0.0.1:3868 -g -w 5
-A -t [2001:db8::100]:80 -s mh -p 300 -M 64 -b mh-fallback
-a -t [2001:db8::100]:80 -r [2001:db8::110]:80 -i -w 1 --tun-type ipip
-a -t [2001:db8::100]:80 -r [2001:db8::120]:8080 -m -w 4
-A -f 10 -s rr
-a -f 10 -r 10.0.0.110:0 -i -w 1 --tun-type ipip
-a -f 10 -r 10.0.0.120:0 -i -w 1 --tun-type ipip
-A -f 20 -6 -s fo
-a -f 20 -6 -r [2001:db8::130]:0 -g -w 9
`
