module github.com/lvs-go/lvs/bench

go 1.25.0

replace github.com/lvs-go/lvs => ../

require (
	github.com/cloudflare/ipvs v0.12.0
	github.com/jsimonetti/rtnetlink/v2 v2.0.2
	github.com/lvs-go/lvs v0.0.0
	github.com/mdlayher/genetlink v1.4.0
	github.com/mdlayher/netlink v1.11.2
	github.com/moby/ipvs v1.1.0
	golang.org/x/sys v0.47.0
)

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/mdlayher/socket v0.6.0 // indirect
	github.com/sirupsen/logrus v1.9.0 // indirect
	github.com/vishvananda/netlink v1.3.1 // indirect
	github.com/vishvananda/netns v0.0.5 // indirect
	golang.org/x/net v0.58.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
)
