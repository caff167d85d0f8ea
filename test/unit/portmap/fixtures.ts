// The port mappings of the reference's portmap tests (portmap_test.go / portmap_nftables_test.go):
// eight TCP/UDP mappings with every hostIP form, shared by the rule unit tests and the nftables
// comparison against the reference's own transaction.
export const REFERENCE_MAPPINGS = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8081, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8080, containerPort: 81, protocol: 'udp' },
  { hostPort: 8082, containerPort: 82, protocol: 'udp' },
  { hostPort: 8083, containerPort: 83, protocol: 'tcp', hostIP: '192.168.0.2' },
  { hostPort: 8084, containerPort: 84, protocol: 'tcp', hostIP: '0.0.0.0' },
  { hostPort: 8085, containerPort: 85, protocol: 'tcp', hostIP: '2001:db8:a::1' },
  { hostPort: 8086, containerPort: 86, protocol: 'tcp', hostIP: '::' },
] as const;
