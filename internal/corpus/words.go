package corpus

// The word lists below are the raw material of the corpus. Templates hold
// slots such as {vendor} or {a_vuln}, filled by gen.slot; a slot written
// with a capital first letter, such as {Vuln}, is capitalized. Vendors,
// products, people and identifiers are invented.

// tagPool is ordered from the most to the least frequent tag.
var tagPool = []string{
	"patching", "disclosure", "vulnerability-management", "remote-code-execution",
	"incident-response", "threat-intelligence", "privilege-escalation", "web-security",
	"advisories", "zero-day", "memory-safety", "supply-chain",
	"authentication", "vpn", "firmware", "cloud",
	"linux", "windows", "embargo", "psirt",
	"ransomware", "networking", "cvss", "information-sharing",
	"routers", "email-security", "tls", "cryptography",
	"identity", "containers", "kubernetes", "ics-scada",
	"iot", "browsers", "mobile", "macos",
	"hypervisors", "databases", "open-source", "bug-bounty",
	"detection", "logging", "forensics", "mitigations",
	"sandboxing", "fuzzing", "secure-development", "dns",
	"denial-of-service", "phishing", "botnets", "exploit-kits",
	"data-breach", "insider-threat", "regulation", "policy",
	"cert-coordination", "backups", "end-of-life", "third-party-risk",
}

var vendors = []string{
	"Halvorsen Systems", "Quillon Networks", "Meridian Software", "Kestrel Labs",
	"Ostrava Digital", "Brightwater Technologies", "Corvid Security", "Tessellate",
	"Larchmont Data", "Pinecrest Devices", "Vantor Communications", "Ironbark Software",
	"Solent Networks", "Marlowe Computing", "Tamsin Industrial", "Greyhaven",
	"Aldercroft Systems", "Nordvik Telecom", "Cobalt Ridge", "Fenwick Automation",
	"Bramble Cloud", "Sable Peak", "Wexford Semiconductor", "Harrowgate Software",
	"Lumenfield", "Rookwood Networks", "Petrel Systems", "Ardent Mobile",
	"Calder Controls", "Thistle Labs",
}

var productNames = []string{
	"EdgeGate", "Nimbus", "Orchard", "Tidewater", "Falcon", "Keystone", "Beacon",
	"Lattice", "Harbor", "Sentinel", "Atlas", "Vireo", "Quarry", "Summit",
	"Cascade", "Pillar", "Mosaic", "Arcadia", "Bastion", "Tern", "Wayfarer",
	"Copperline", "Northstar", "Saltmarsh",
}

// productKind is a kind of product and the suffix of its daemon's name.
type productKind struct{ name, bin string }

var productKinds = []productKind{
	{"VPN gateway", "vpnd"}, {"mail gateway", "mailgw"}, {"hypervisor", "hvd"},
	{"content management system", "cms"}, {"firewall", "fwd"}, {"print server", "printd"},
	{"PLC firmware", "plcd"}, {"router OS", "routerd"}, {"identity provider", "idpd"},
	{"backup agent", "backupd"}, {"web server", "httpd"}, {"database server", "dbd"},
	{"endpoint agent", "agentd"}, {"load balancer", "lbd"}, {"file transfer appliance", "ftad"},
	{"single sign-on portal", "ssod"}, {"container runtime", "runtimed"},
	{"mobile device manager", "mdmd"}, {"SCADA historian", "histd"}, {"remote access server", "rasd"},
}

// vuln is a class of vulnerability with its article and what it lets an
// attacker do.
type vuln struct {
	name, article string
	impacts       []string
}

var vulns = []vuln{
	{"heap buffer overflow", "a", []string{"execute arbitrary code on the device", "crash the service and force a restart"}},
	{"stack buffer overflow", "a", []string{"execute arbitrary code with the privileges of the service", "crash the appliance"}},
	{"use-after-free", "a", []string{"execute arbitrary code in the context of the service", "corrupt memory and crash the process"}},
	{"out-of-bounds read", "an", []string{"read process memory that may hold session keys", "crash the process"}},
	{"integer overflow", "an", []string{"write past the end of a heap buffer", "execute arbitrary code on the device"}},
	{"type confusion", "a", []string{"execute arbitrary code in the renderer", "read memory outside the sandbox"}},
	{"SQL injection", "an", []string{"read and change the configuration database", "extract password hashes of every account"}},
	{"command injection", "a", []string{"run shell commands as root", "install a persistent implant"}},
	{"path traversal", "a", []string{"read arbitrary files, including private keys", "overwrite files outside the upload folder"}},
	{"server-side request forgery", "a", []string{"reach internal services from the appliance", "read cloud instance metadata and credentials"}},
	{"authentication bypass", "an", []string{"log in to the management interface without credentials", "take over any account"}},
	{"improper certificate validation", "an", []string{"intercept and modify update traffic", "impersonate the update server"}},
	{"deserialization of untrusted data", "a", []string{"execute arbitrary code on the server", "run commands as the service account"}},
	{"stored cross-site scripting", "a", []string{"act with an administrator's session", "change the configuration through an administrator's browser"}},
	{"XML external entity injection", "an", []string{"read local files from the server", "make the server send requests to internal hosts"}},
	{"race condition", "a", []string{"escalate privileges to root", "bypass a permission check"}},
	{"local privilege escalation", "a", []string{"gain SYSTEM privileges", "escalate privileges to root"}},
	{"hard-coded credential", "a", []string{"log in as a maintenance user", "decrypt stored configuration backups"}},
	{"denial of service", "a", []string{"stop the device from forwarding traffic", "exhaust memory until the service restarts"}},
	{"missing authorization check", "a", []string{"change other tenants' settings", "download other users' files"}},
}

var components = []string{
	"the TLS handshake parser", "the HTTP header parser", "the SNMP agent",
	"the web management interface", "the firmware update client", "the LDAP connector",
	"the SAML response validator", "the XML configuration importer", "the session cookie handler",
	"the PDF preview service", "the IPsec key exchange daemon", "the logging subsystem",
	"the REST API", "the file upload handler", "the DNS resolver", "the kernel network driver",
	"the plugin loader", "the password reset flow", "the backup restore routine",
	"the Modbus protocol handler", "the image thumbnailer", "the OAuth callback handler",
	"the diagnostic shell", "the template engine", "the archive extractor",
}

var funcs = []string{
	"parse_record", "read_header", "validate_token", "decode_tlv", "handle_upload",
	"restore_archive", "check_signature", "copy_field", "load_plugin", "render_template",
	"resolve_path", "session_lookup",
}

var configKeys = []string{
	"allow_legacy_auth", "enable_debug_shell", "strict_sni", "max_header_size",
	"admin_bind_address", "verify_peer", "plugin_autoload", "remote_diag",
	"saml_allow_unsigned", "upload_preview", "xml_external_entities", "api_anonymous_read",
}

var apiPaths = []string{
	"api/v2/session", "admin/upload", "api/v1/backup/restore", "cgi-bin/diag",
	"sso/callback", "api/v3/templates/render", "mgmt/config/import", "remote/login",
}

var ports = []string{"443", "8443", "4433", "10443", "8080", "161", "502", "636", "9443", "500"}

var reporters = []string{
	"a researcher at Tallis Labs", "the systems security group at Northgate University",
	"an anonymous researcher through the vendor's bug bounty programme",
	"the red team of a member bank", "the vendor's own product security team",
	"a national CERT", "two independent researchers", "a customer's incident response team",
	"researchers at Ferrow Security", "a member's threat hunting team",
}

var orgs = []string{
	"the national CERT", "the sector ISAC", "two member CERTs", "a managed security provider",
	"the coordinating CERT", "a member's security operations centre", "the vendor's PSIRT",
	"an incident response firm working for a member",
}

var mitigationTech = []string{
	"ASLR", "stack canaries", "control-flow integrity", "W^X memory protection",
	"the hardened allocator", "seccomp filtering", "pointer authentication",
}

var surfaces = []string{
	"the management interface", "TCP port {port}", "the VPN portal", "the public API",
	"the login page", "the update channel", "the internal network", "any exposed listener",
}

var risks = []string{"high", "moderate", "low", "significant", "limited"}

var monthNames = []string{
	"January", "February", "March", "April", "May", "June",
	"July", "August", "September", "October", "November", "December",
}

// Titles and summaries: one line each, with no double quote or backslash.
var titleTemplates = []string{
	"{Vuln} in {vendor} {product}",
	"{vendor} fixes {a_vuln} in {product}",
	"{cve}: {vuln} in {product} {comp}",
	"Exploitation of {product} {vuln} reported by {org}",
	"Patch review: {vendor}, {month} {year}",
	"{product}: {vuln} in {comp}",
	"Coordinated disclosure of {a_vuln} in {product}",
	"Emergency update for {vendor} {product}",
	"{vendor} {product} {fixed} closes {cve}",
	"Embargoed advisory: {vuln} in {comp} of {product}",
}

var summaryTemplates = []string{
	"{vendor} has fixed {a_vuln} in {component} of {product} that lets a remote attacker {impact}.",
	"A flaw in {component} of {vendor} {product}, tracked as {cve}, lets an attacker {impact}, and version {fixed} fixes it.",
	"{vendor} released {product} {fixed} after {reporter} reported {a_vuln} in {component}.",
	"Members running {product} should upgrade to {fixed}, which fixes {a_vuln} rated {cvss} under CVSS 3.1.",
	"{Org} has seen attackers use {cve} in {product} to {impact}, and asks members to patch this week.",
	"This briefing sets out what {cve} in {vendor} {product} means for members and how to detect attempts to exploit it.",
}

// The kinds of section after the summary, as indices into sections.
const (
	secBackground = iota
	secTechnical
	secAffected
	secTimeline
	secExploitation
	secVendor
	secDetection
	secMitigation
	secAssessment
	secMembers
	secQuestions
	secCount
)

// section is one kind of level-2 section of a briefing.
type section struct {
	headings  []string // one is chosen per page
	sentences []string // paragraphs and bullet lists
	subs      []string // level-3 headings for long sections, if any
}

// summarySection opens every briefing; the others follow in this order.
var summarySection = section{
	headings: []string{"Summary", "Key points", "Overview"},
	sentences: []string{
		"{vendor} published an advisory on {date} for {a_vuln} in {component} of {product}.",
		"The flaw is tracked as {cve} and carries a CVSS 3.1 base score of {cvss}, which the vendor rates as {severity}.",
		"An attacker who can reach {surface} could {impact}.",
		"Versions {affected} are affected, and {fixed} and later contain the fix.",
		"The issue was reported to {vendor} by {reporter} and handled under a {days}-day embargo.",
		"We rate the risk to members as {risk}, mainly because {product} is often exposed to the internet.",
		"No public exploit had been released when this briefing was written.",
		"Exploitation in the wild was confirmed by {org} {days} days after disclosure.",
		"The fix is small, and the advisory is unusually clear about what it changes.",
		"Members who run {product} only on internal networks have more time, but **not** unlimited time.",
		"Workarounds exist, but each one disables a feature that many deployments depend on.",
		"{vendor} says that {pct}% of its customers had installed the update within a month.",
	},
}

var sections = [secCount]section{
	{
		headings: []string{"Background", "Context"},
		sentences: []string{
			"{product} is widely deployed by mid-sized organisations, including at least {n} of our members.",
			"{vendor} moved to a monthly patch cycle in {past_year}, with out-of-band releases only for issues under active exploitation.",
			"This is the {nth} advisory for {component} in three years.",
			"{vendor} runs a bug bounty programme and publishes advisories in CSAF as well as on its web site.",
			"The product line came to {vendor} through an acquisition, and parts of its code base are older than its current owner's secure development process.",
			"Earlier releases shipped with {cfg} turned on by default, and many installations still carry that setting.",
			"Appliances of this kind sit at the network edge, where a single flaw gives an attacker a foothold inside the perimeter.",
			"The vendor's PSIRT has a good record of working with coordinators, and embargo dates have usually held.",
			"{other_vendor} ships a competing product that embeds the same third-party library, and has not yet said whether it is affected.",
			"Several members learned of the issue from a customer before the vendor notified them, which is a recurring complaint.",
		},
	},
	{
		headings: []string{"Technical details", "How the flaw works", "Root cause analysis"},
		subs:     []string{"Root cause", "Exploitation", "The fix", "Affected configurations", "Proof of concept"},
		sentences: []string{
			"The bug sits in {component}, which runs with elevated privileges on most installations.",
			"When a request arrives at `/{path}`, the handler calls `{func}()` before the session has been checked.",
			"The function `{func}()` trusts a length field taken from the request and copies that many bytes into a fixed-size buffer.",
			"Because the check happens after the value has been used, a crafted request can bypass it.",
			"The patch adds a bounds check in `{func}()` and rejects input longer than {size} bytes.",
			"Default configurations are exposed, and the vulnerable code path is reachable without authentication.",
			"Exploitation requires the attacker to hold a valid low-privilege account, which narrows the exposure considerably.",
			"On builds with {mitigation} enabled, the bug is harder to turn into code execution, but a crash is still reliable.",
			"{Reporter} showed a proof of concept that gives a remote shell on a default installation in under a minute.",
			"The error path frees the session object but leaves a pointer to it in the connection table.",
			"Input is passed to a shell through `system()` after only a partial attempt to strip metacharacters.",
			"The same pattern appears in two other handlers, and the vendor fixed all three in the same release.",
			"Setting `{cfg} = false` removes the vulnerable code path entirely.",
			"The flaw is only reachable when `{cfg}` is enabled, which is *not* the default on current releases.",
			"Diffing the two releases shows fewer than forty changed lines, so attackers will find the bug quickly.",
			"The service restarts automatically after a crash, which gives an attacker unlimited attempts.",
		},
	},
	{
		headings: []string{"Affected products", "Affected versions", "Scope"},
		sentences: []string{
			"All supported versions of {product} before {fixed} are affected.",
			"Versions {affected} are vulnerable in their default configuration.",
			"Releases that reached end of life in {past_year} are also affected and will not be fixed.",
			"The cloud-hosted edition was patched by {vendor} on {date} and needs no action from customers.",
			"Appliances managed through the central console receive the fix only after the console itself is upgraded.",
			"{other_vendor} products that embed the same component have not been assessed by their vendor yet.",
			"Hardware revisions before the third generation cannot run {fixed} and must be replaced.",
			"Internet scans by {org} found about {count} exposed instances, most of them still unpatched.",
			"Virtual appliances built from images older than {past_year} carry the vulnerable package as well.",
		},
	},
	{
		headings: []string{"Timeline", "Disclosure timeline"},
		sentences: []string{
			"{Reporter} reported the issue to {vendor} on {date}.",
			"{vendor} confirmed the report within {small} days and assigned {cve}.",
			"The embargo was extended once, by {small} weeks, at the vendor's request.",
			"The fixed release, {fixed}, shipped on {date} together with the advisory.",
			"A public proof of concept appeared {small} days after the advisory.",
			"{Org} saw the first exploitation attempts on {date}.",
			"The coordinating CERT notified downstream vendors {small} weeks before publication.",
			"The original embargo date fell on a public holiday in two member countries and was moved.",
		},
	},
	{
		headings: []string{"Exploitation in the wild", "Threat activity"},
		subs:     []string{"Observed activity", "Attribution"},
		sentences: []string{
			"{Org} has observed scanning for `/{path}` from a small number of hosting providers since {date}.",
			"Successful attacks were followed by the deployment of a web shell and the theft of configuration backups.",
			"At least {small} members have reported attempts, none of which is known to have succeeded.",
			"The activity matches a group that has targeted edge appliances since {past_year}.",
			"Attackers chained {cve} with an older flaw to reach code execution.",
			"Ransomware affiliates began using the flaw about {small} weeks after the advisory.",
			"There is no evidence that the flaw was exploited before disclosure.",
			"Attribution is uncertain, and members should not rely on any single report.",
			"The exploit traffic is noisy, which makes detection easier than for most edge-device attacks.",
		},
	},
	{
		headings: []string{"Vendor response", "Coordination"},
		sentences: []string{
			"{vendor} handled the report well, with a fix ready before the embargo ended.",
			"The vendor's first advisory understated the impact and was revised on {date}.",
			"{vendor} did not notify customers who buy through resellers until {small} days after publication.",
			"The coordinating CERT shared technical details with members of the trusted circle {small} days before publication.",
			"The vendor declined to publish indicators of compromise, citing the risk of helping attackers.",
			"A fix for the extended-support branch followed {small} weeks later.",
			"Members asked {vendor} to publish machine-readable advisories, and it agreed to do so from {year}.",
			"{vendor} credited {reporter} in the advisory.",
		},
	},
	{
		headings: []string{"Detection", "Hunting for exploitation", "Indicators"},
		subs:     []string{"Network indicators", "Host indicators"},
		sentences: []string{
			"Look for requests to `/{path}` with unusually long headers in the access log.",
			"Crashes of the `{bin}` process are a strong indicator of attempted exploitation.",
			"New files under `/var/lib/{bin}/` with recent modification times deserve a closer look.",
			"Outbound connections from the appliance to unfamiliar hosts on TCP port {port} are suspicious.",
			"The vendor's integrity checker, `{bin} --verify`, detects modified binaries but not changed configuration.",
			"Logs on the appliance itself can be wiped by an attacker with root access, so forward them to a central collector.",
			"A failed exploitation attempt leaves a core dump in `/var/crash/`.",
			"Check for accounts created after {date} that nobody can account for.",
			"Members who keep full packet capture at the perimeter can search it for the exploit's fixed byte pattern.",
		},
	},
	{
		headings: []string{"Mitigation", "Fixes and workarounds", "Remediation"},
		subs:     []string{"Short term", "Long term"},
		sentences: []string{
			"Upgrade {product} to {fixed} or later.",
			"Where an upgrade is not possible within {small} days, set `{cfg} = false` in `/etc/{bin}/{bin}.conf`.",
			"Restrict access to {surface} to a management network.",
			"Rotate any credentials stored on affected systems, since an attacker may already have read them.",
			"Restart the service after upgrading, because the old binary stays in memory until then.",
			"The workaround disables {comp}, so test it before rolling it out.",
			"Replace appliances that have reached end of life, since they will not receive a fix.",
			"If compromise is suspected, rebuild the system from a known-good image instead of patching it in place.",
			"Check the installed version with `{bin} --version` after upgrading.",
		},
	},
	{
		headings: []string{"Assessment", "Our view"},
		sentences: []string{
			"This is a serious flaw in a product that many members expose to the internet.",
			"The fix is straightforward, and we see no reason to delay it.",
			"The flaw is less severe than its score suggests, because exploitation needs a valid account.",
			"The disclosure process worked as intended, and the embargo held.",
			"We expect mass exploitation once a reliable exploit is public.",
			"The vendor's slow response to resellers' customers remains a concern.",
			"The root cause is a class of bug that memory-safe languages rule out, and it will recur until the component is rewritten.",
			"Members that depend on a single vendor at the network edge carry a concentration risk that this case illustrates.",
			"A score of {cvss} reflects the worst case, and most deployments are better placed than that.",
		},
	},
	{
		headings: []string{"What this means for members", "Recommendations", "Actions for members"},
		sentences: []string{
			"Patch internet-facing systems first, then internal ones.",
			"Ask managed service providers to confirm in writing that they have applied {fixed}.",
			"Add {cve} to vulnerability scanning policies and track it to closure.",
			"Review whether {product} needs to be exposed to the internet at all.",
			"Share any indicators you find with the circle, marked TLP:GREEN or stricter.",
			"Record the patch date, so that an incident review can establish the window of exposure.",
			"Tell the circle if the vendor has not contacted you, so the coordinator can follow it up.",
			"Include end-of-life appliances in your inventory, because they are the likeliest to be missed.",
		},
	},
	{
		headings: []string{"Open questions"},
		sentences: []string{
			"Is the same component used in {other_vendor}'s products?",
			"Why did the vendor's own testing not find the flaw before release?",
			"Did any member see exploitation before the advisory was published?",
			"Will the vendor back-port the fix to the extended-support branch?",
			"How many exposed instances are run by managed service providers rather than by their owners?",
			"Should the circle ask for earlier notice of fixes for edge devices?",
		},
	},
}

// Numbered steps, task-list items and footnotes.
var steps = []string{
	"Confirm the installed version with `{bin} --version`.",
	"Take a configuration backup and store it off the device.",
	"Download {fixed} from the vendor's portal and check its signature.",
	"Install the update during a maintenance window and restart `{bin}`.",
	"Set `{cfg} = false` until the update is installed.",
	"Check the logs for requests to `/{path}` since {date}.",
	"Rotate administrator passwords and API tokens.",
	"Confirm that the management interface is not reachable from the internet.",
	"Report the outcome to the circle's coordinator.",
}

var tasks = []string{
	"Inventory every {product} instance, including lab and disaster-recovery systems.",
	"Upgrade internet-facing instances to {fixed}.",
	"Apply the workaround where the upgrade must wait.",
	"Search logs back to {date} for requests to `/{path}`.",
	"Rotate credentials stored on affected systems.",
	"Confirm with managed service providers that they have patched.",
	"Add {cve} to the scanning policy.",
	"Brief the board if any instance was exposed.",
	"Share indicators with the circle.",
}

var footnoteTemplates = []string{
	"{vendor} security advisory {advid}, published {date}.",
	"Report shared by {org} with members of the circle on {date}.",
	"{Reporter}, technical write-up, published after the embargo ended.",
	"CVE record {cve}, last updated {date}.",
	"Figures from internet-wide scans shared by {org}; they undercount instances behind load balancers.",
}

// Sentences carrying a link: {link} is the markdown link.
var linkTemplates = []string{
	"See {link} for a similar case.",
	"We covered a related issue in {link}.",
	"This follows the pattern described in {link}.",
	"The same vendor's handling of an earlier report is described in {link}.",
	"For the detection approach, compare {link}.",
	"Members who missed it should also read {link}.",
}

var autolinkTemplates = []string{
	"The advisory is at <https://psirt.example.com/{vendor_slug}/{advid}>.",
	"The vendor's notice is published at https://{vendor_slug}.example.net/security/{advid}.",
	"Scan data is available at <https://scans.example.org/{year}/{bin}>.",
}

// Code blocks by language.
var codeBlocks = map[string][]string{
	"bash": {
		`# Print the installed version: {fixed} and later are fixed.
{bin} --version

# Count requests to the vulnerable handler by client address.
grep -E 'POST /{path}' /var/log/{bin}/access.log \
  | awk '{print $1}' | sort | uniq -c | sort -rn | head -20`,
		`# Allow the management port only from the admin network.
iptables -A INPUT -p tcp --dport {port} -s 10.20.0.0/16 -j ACCEPT
iptables -A INPUT -p tcp --dport {port} -j DROP
systemctl restart {bin}`,
		`apt-get update
apt-get install --only-upgrade {bin}
if {bin} --version | grep -q '{fixed}'; then
  echo "patched"
else
  echo "still vulnerable" >&2
  exit 1
fi`,
	},
	"yaml": {
		`# /etc/{bin}/{bin}.yaml
server:
  listen: 127.0.0.1:{port}
  {cfg}: false
  max_header_size: 8192
logging:
  level: info
  audit: true`,
		`title: Possible exploitation of {cve}
status: experimental
logsource:
  product: {bin}
  service: access
detection:
  selection:
    cs-uri-stem|contains: '/{path}'
    sc-status: 500
  condition: selection
level: high`,
		`- name: Upgrade {product}
  hosts: {bin}_servers
  become: true
  tasks:
    - name: Install the fixed package
      ansible.builtin.package:
        name: {bin}
        state: latest
    - name: Restart the service
      ansible.builtin.service:
        name: {bin}
        state: restarted`,
	},
	"json": {
		`{
  "document": {
    "category": "csaf_security_advisory",
    "title": "{Vuln} in {product}",
    "tracking": {"id": "{advid}", "version": "1", "status": "final"}
  },
  "vulnerabilities": [
    {"cve": "{cve}", "scores": [{"cvss_v3": {"baseScore": {cvss}}}]}
  ]
}`,
		`{
  "product": "{product}",
  "installed": "{affected_low}",
  "fixed": "{fixed}",
  "exposed": true,
  "checks": ["version", "config", "logs"]
}`,
	},
	"c": {
		`/* {comp}: before the fix */
static int copy_field(struct ctx *c, const uint8_t *p, size_t n)
{
	uint8_t buf[256];
	size_t len = (size_t)p[0] << 8 | p[1]; /* length from the packet */

	memcpy(buf, p + 2, len); /* no check against sizeof(buf) */
	return handle(c, buf, len);
}`,
		`/* after the fix in {fixed} */
if (len > sizeof(buf) || len > n - 2) {
	log_warn("{func}: field too long (%zu bytes)", len);
	return -EINVAL;
}
memcpy(buf, p + 2, len);`,
	},
	"python": {
		`import re
import sys

FIXED = tuple(int(x) for x in "{fixed}".split("."))

for line in sys.stdin:
    m = re.search(r"{bin}/(\d+)\.(\d+)\.(\d+)", line)
    if m and tuple(map(int, m.groups())) < FIXED:
        print("vulnerable:", line.strip())`,
		`import requests

def is_patched(host):
    url = "https://%s:{port}/api/version" % host
    r = requests.get(url, timeout=5)
    r.raise_for_status()
    return r.json()["version"] >= "{fixed}"`,
	},
	"go": {
		`package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	resp, err := http.Get(os.Args[1] + "/api/version")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	// {bin}/{fixed} and later are patched.
	fmt.Println(resp.Header.Get("Server"))
}`,
	},
}

// codeLangs fixes the order in which languages are drawn.
var codeLangs = []string{"go", "bash", "yaml", "json", "c", "python"}

// Restricted blocks: their level-3 headings, the kinds of section their
// paragraphs draw sentences from, and their short code snippets, which
// have no blank line and no line ending in a backslash, so that a comment
// can end every line.
var blockHeadings = []string{
	"Exploit details", "Indicators shared under embargo", "Proof of concept",
	"Affected members", "Unpublished indicators", "Vendor coordination notes",
	"Attribution assessment", "Detection signatures", "Victims known to the circle",
	"Internal timeline", "Before the advisory", "Contacts for this case",
	"Notes from the coordination call", "What the vendor told us", "Unreleased fix",
}

var blockSources = []int{secTechnical, secExploitation, secVendor, secDetection, secMembers}

var blockCode = []struct{ lang, text string }{
	{"bash", "grep -c 'POST /{path}' /var/log/{bin}/access.log\nzgrep -h '{cve}' /var/log/{bin}/audit.log.*.gz | tail -n 5"},
	{"bash", "{bin} --debug-dump --config /etc/{bin}/{bin}.conf\nsystemctl restart {bin}"},
	{"bash", "curl -sk -X POST -H 'Content-Length: 65535' \"$TARGET:{port}/{path}\""},
	{"yaml", "rule: {bin}-exploit-attempt\nmatch:\n  uri: '/{path}'\n  min_header_size: {size}\naction: alert"},
	{"python", "payload = b\"A\" * {size}\npayload += struct.pack(\"<I\", 0x41414141)\nsend(\"/{path}\", payload)"},
	{"go", "req.Header.Set(\"X-Debug\", \"1\")\nreq.ContentLength = {size}\nresp, err := client.Do(req)"},
	{"c", "len = ntohs(*(uint16_t *)p); /* attacker-controlled */\nmemcpy(buf, p + 2, len);"},
}

var blockRoles = []string{
	"Duty officer", "PSIRT lead", "Incident coordinator", "Liaison to the vendor",
	"Analyst on call", "Legal contact",
}

var blockSectors = []string{"Finance", "Energy", "Health", "Government", "Telecoms", "Manufacturing", "Transport"}
