// gocni-driver makes the CNI calls containerd's CRI plugin makes, through containerd's own CNI
// library (github.com/containerd/go-cni, which drives libcni): one process per pod-network verb.
//
//	gocni-driver setup|check|remove -bin DIR -conf DIR -id SANDBOX -netns PATH
//	    [-pod NAME -namespace NS -uid UID] [-ports JSON] [-bandwidth JSON]
//
// The calls mirror containerd's CRI (internal/cri/server: initPlatform, setupPodNetwork,
// teardownPodNetwork, cniNamespaceOpts, toCNILabels, toCNIPortMappings, toCNIBandWidth):
//   - cni.New(WithMinNetworkCount(2), WithPluginConfDir, WithPluginMaxConfNum(1), WithPluginDir)
//   - Load(WithLoNetwork, WithDefaultConf): loopback on "lo", then the first conf file on "eth0"
//   - namespace options: WithLabels(K8S_POD_* + IgnoreUnknown=1), WithCapability(pod annotations),
//     WithCapabilityPortMap (only when there are mappings), WithCapabilityBandWidth (only when set)
//   - Setup / Check / Remove with the same options (Check without the loopback network: see run).
//
// setup prints {"result": <go-cni Result>, "raw": [<per-network CNI results>]} as JSON on stdout;
// any failure is printed on stderr with exit status 1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	cni "github.com/containerd/go-cni"
)

// podAnnotationsCapability is containerd's annotations.PodAnnotations capability name.
const podAnnotationsCapability = "io.kubernetes.cri.pod-annotations"

// maxBurst is what containerd's toCNIBandWidth sets as burst for both directions (math.MaxUint32).
const maxBurst = 4294967295

type options struct {
	verb, bin, conf, id, netns, pod, namespace, uid, ports, bandwidth string
}

func parse() (options, error) {
	if len(os.Args) < 2 {
		return options{}, fmt.Errorf("usage: gocni-driver setup|check|remove -bin DIR -conf DIR -id ID -netns PATH")
	}
	o := options{verb: os.Args[1]}
	fs := flag.NewFlagSet("gocni-driver", flag.ContinueOnError)
	fs.StringVar(&o.bin, "bin", "", "CNI plugin directory")
	fs.StringVar(&o.conf, "conf", "", "CNI config directory")
	fs.StringVar(&o.id, "id", "", "sandbox ID (CNI_CONTAINERID)")
	fs.StringVar(&o.netns, "netns", "", "sandbox netns path")
	fs.StringVar(&o.pod, "pod", "pod", "K8S_POD_NAME")
	fs.StringVar(&o.namespace, "namespace", "default", "K8S_POD_NAMESPACE")
	fs.StringVar(&o.uid, "uid", "00000000-0000-0000-0000-000000000000", "K8S_POD_UID")
	fs.StringVar(&o.ports, "ports", "", `port mappings, JSON [{"HostPort":8080,"ContainerPort":80,"Protocol":"tcp","HostIP":""}]`)
	fs.StringVar(&o.bandwidth, "bandwidth", "", `rates in bit/s, JSON {"IngressRate":N,"EgressRate":N} (bursts as containerd sets them)`)
	if err := fs.Parse(os.Args[2:]); err != nil {
		return o, err
	}
	if o.bin == "" || o.conf == "" || o.id == "" || o.netns == "" {
		return o, fmt.Errorf("-bin, -conf, -id and -netns are required")
	}
	return o, nil
}

// namespaceOpts builds what containerd's cniNamespaceOpts builds for a pod sandbox.
func namespaceOpts(o options) ([]cni.NamespaceOpts, error) {
	annotations := map[string]string{}
	opts := []cni.NamespaceOpts{
		cni.WithLabels(map[string]string{
			"K8S_POD_NAMESPACE":          o.namespace,
			"K8S_POD_NAME":               o.pod,
			"K8S_POD_INFRA_CONTAINER_ID": o.id,
			"K8S_POD_UID":                o.uid,
			"IgnoreUnknown":              "1",
		}),
	}
	var bw *cni.BandWidth
	if o.bandwidth != "" {
		var rates cni.BandWidth
		if err := json.Unmarshal([]byte(o.bandwidth), &rates); err != nil {
			return nil, fmt.Errorf("-bandwidth: %w", err)
		}
		bw = &cni.BandWidth{}
		// containerd reads kubernetes.io/{ingress,egress}-bandwidth and sets burst to MaxUint32.
		if rates.IngressRate > 0 {
			bw.IngressRate, bw.IngressBurst = rates.IngressRate, maxBurst
			annotations["kubernetes.io/ingress-bandwidth"] = fmt.Sprint(rates.IngressRate)
		}
		if rates.EgressRate > 0 {
			bw.EgressRate, bw.EgressBurst = rates.EgressRate, maxBurst
			annotations["kubernetes.io/egress-bandwidth"] = fmt.Sprint(rates.EgressRate)
		}
	}
	opts = append(opts, cni.WithCapability(podAnnotationsCapability, annotations))
	if o.ports != "" {
		var mappings []cni.PortMapping
		if err := json.Unmarshal([]byte(o.ports), &mappings); err != nil {
			return nil, fmt.Errorf("-ports: %w", err)
		}
		if len(mappings) > 0 {
			opts = append(opts, cni.WithCapabilityPortMap(mappings))
		}
	}
	if bw != nil {
		opts = append(opts, cni.WithCapabilityBandWidth(*bw))
	}
	return opts, nil
}

func run() error {
	o, err := parse()
	if err != nil {
		return err
	}
	// containerd: loopback + the default network, and one conf file (max_conf_num = 1). go-cni's
	// loopback network is cniVersion 0.3.1, for which libcni refuses CHECK ("does not support the
	// CHECK command"), so Check runs on the default network alone (still on "eth0").
	networks, loads := 2, []cni.Opt{cni.WithLoNetwork, cni.WithDefaultConf}
	if o.verb == "check" {
		networks, loads = 1, []cni.Opt{cni.WithDefaultConf}
	}
	lib, err := cni.New(
		cni.WithMinNetworkCount(networks),
		cni.WithPluginConfDir(o.conf),
		cni.WithPluginMaxConfNum(1),
		cni.WithPluginDir([]string{o.bin}),
	)
	if err != nil {
		return fmt.Errorf("cni.New: %w", err)
	}
	if err := lib.Load(loads...); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if err := lib.Status(); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	opts, err := namespaceOpts(o)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	switch o.verb {
	case "setup":
		res, err := lib.Setup(ctx, o.id, o.netns, opts...)
		if err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		out, err := json.Marshal(map[string]interface{}{"result": res, "raw": res.Raw()})
		if err != nil {
			return err
		}
		fmt.Println(string(out))
	case "check":
		if err := lib.Check(ctx, o.id, o.netns, opts...); err != nil {
			return fmt.Errorf("check: %w", err)
		}
	case "remove":
		if err := lib.Remove(ctx, o.id, o.netns, opts...); err != nil {
			return fmt.Errorf("remove: %w", err)
		}
	default:
		return fmt.Errorf("unknown verb %q (setup, check, remove)", o.verb)
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
