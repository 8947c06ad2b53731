package site

import (
	"strings"
	"testing"
)

// [[deploy.targets]]: each target's name, url and signer, located by the
// line of its own table, and picked by name.
func TestConfigDeploy(t *testing.T) {
	cfg, warns, err := ParseConfig([]byte(`title = "T"

[[deploy.targets]]
name = "prod"
url = "s3://briefings-example-org?region=eu-west-1&prefix=site/"
key = "keys/signing.pub"

[[deploy.targets]]
name = "preview"
url = "file:///srv/preview?metadata=skip"
unsigned = true
identity = "https://github.com/acme/briefings/.github/workflows/publish.yml@refs/heads/main"
issuerRegexp = "https://token\\.actions\\.githubusercontent\\.com"
keyy = "x"
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || warns[0].Error() != `conclave.toml:14: unknown key "deploy.targets.keyy" (did you mean "deploy.targets.key"?)` {
		t.Errorf("warnings = %v", warns)
	}
	if len(cfg.Deploy) != 2 {
		t.Fatalf("targets = %+v", cfg.Deploy)
	}
	prod, preview := cfg.Deploy[0], cfg.Deploy[1]
	if prod.Name != "prod" || prod.Key != "keys/signing.pub" || prod.Unsigned || prod.Line != 3 || !prod.HasSigner() {
		t.Errorf("prod = %+v", prod)
	}
	if preview.URL != "file:///srv/preview?metadata=skip" || !preview.Unsigned || preview.IssuerRegexp == "" || preview.Line != 8 {
		t.Errorf("preview = %+v", preview)
	}
	for _, tc := range []struct{ name, want, err string }{
		{"prod", "prod", ""},
		{"preview", "preview", ""},
		{"", "", `conclave.toml has 2 deploy targets (prod, preview): name the one to deploy to`},
		{"prd", "", `conclave.toml has no deploy target named "prd" (did you mean "prod"?)`},
		{"staging", "", `conclave.toml has no deploy target named "staging" (it has prod, preview)`},
	} {
		got, err := cfg.DeployTargetNamed(tc.name)
		switch {
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("DeployTargetNamed(%q) = %v, want error %q", tc.name, err, tc.err)
		case tc.err == "" && (err != nil || got.Name != tc.want):
			t.Errorf("DeployTargetNamed(%q) = %v, %v", tc.name, got, err)
		}
	}

	one, _, err := ParseConfig([]byte("title = 'T'\n[[deploy.targets]]\nname = 'only'\nurl = 'gs://bucket'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := one.DeployTargetNamed(""); err != nil || got.Name != "only" || got.HasSigner() {
		t.Errorf("the only target: %v, %v", got, err)
	}
	none, _, _ := ParseConfig([]byte("title = 'T'\n"))
	if _, err := none.DeployTargetNamed(""); err == nil || !strings.Contains(err.Error(), "conclave.toml has no [[deploy.targets]]") {
		t.Errorf("no targets: %v", err)
	}
}

// Every mistake in a target is a located error; a url that holds a
// credential is refused, whatever its form.
func TestConfigDeployErrors(t *testing.T) {
	const head = "title = 'T'\n[[deploy.targets]]\nname = 'prod'\n" // target at line 2, name at 3
	for _, tc := range []struct{ src, want string }{
		{"title = 'T'\n[[deploy.targets]]\nurl = 's3://b'\n", `conclave.toml:2: [[deploy.targets]] without a name`},
		{"title = 'T'\n[[deploy.targets]]\nname = 'Prod'\nurl = 's3://b'\n", `conclave.toml:3: deploy target name "Prod": want lower-case letters`},
		{head + "url = 's3://a'\n[[deploy.targets]]\nname = 'prod'\nurl = 's3://b'\n", `conclave.toml:6: deploy target "prod" is named twice (first on line 3)`},
		{head, `conclave.toml:2: deploy target "prod" has no url`},
		{head + "url = 'https://example.org/'\n", `conclave.toml:4: deploy target "prod": url: "https://example.org/": want a bucket URL`},
		{head + "url = 's3://'\n", `conclave.toml:4: deploy target "prod": url: "s3://" names no bucket`},
		{head + "url = 'file://'\n", `names no folder`},
		{head + "url = 's3://b#x'\n", `without a fragment`},
		{head + "url = 's3://AKIAABCDEFGHIJKLMNOP:secret@bucket'\n", `conclave.toml:4: deploy target "prod": url: holds what looks like an AWS access key ID`},
		{head + "url = 's3://user:pass@bucket'\n", `url: holds credentials (user:password@)`},
		{head + "url = 's3://bucket?region=x&aws_secret_access_key=y'\n", `url: parameter "aws_secret_access_key" carries a credential`},
		{head + "url = 's3://bucket?X-Amz-Credential=y&X-Amz-Signature=z'\n", `parameter "X-Amz-Credential" carries a credential`},
		{head + "url = 'azblob://c?sv=2020&sig=abc'\n", `parameter "sig" carries a credential`},
		{head + "url = 'azblob://c?sas_token=abc'\n", `parameter "sas_token" carries a credential`},
		{head + "url = 's3://b?session_token=abc'\n", `parameter "session_token" carries a credential`},
		{head + "url = 's3://b?password=abc'\n", `parameter "password" carries a credential`},
		{head + "url = 's3://b?key=index.html'\n", `parameter "key" makes a bucket of one object`},
		{head + "url = 's3://%zz'\n", `url: not a URL`},
		{head + "url = 's3://b?%zz'\n", `url: query: invalid URL escape "%zz"`},
		{head + "url = 's3://b'\nkey = 'k.pub'\nidentity = 'me'\nissuer = 'https://x'\n", `conclave.toml:5: deploy target "prod": give either a key or a keyless identity`},
		{head + "url = 's3://b'\nidentity = 'me'\n", `conclave.toml:5: deploy target "prod": an identity needs its OIDC issuer`},
		{head + "url = 's3://b'\nissuer = 'https://x'\n", `an OIDC issuer needs the identity it issued`},
		{head + "url = 's3://b'\nidentity = 'me'\nidentityRegexp = 'm.*'\nissuer = 'https://x'\n", `either exactly or as a regular expression`},
		{head + "url = 's3://b'\nidentityRegexp = '('\nissuer = 'https://x'\n", `regular expression "(":`},
		{head + "url = 's3://b'\nkey = 'k.pub'\ntrustedRoot = 'r.json'\n", `give either a key or a keyless identity`},
		{head + "url = 's3://b'\nunsigned = 'yes'\n", `conclave.toml:`},
	} {
		_, _, err := ParseConfig([]byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %q", tc.src, err, tc.want)
		}
	}
	// What a url may hold: parameters naming a file, a prefix, an
	// endpoint, a profile (credentials the SDK reads elsewhere).
	for _, u := range []string{
		"s3://b?endpoint=http://127.0.0.1:7070&use_path_style=true&disable_https=true&region=us-east-1&response_checksum_validation=when_required",
		"s3://b?profile=publisher&prefix=briefings/",
		"s3://b?web_identity_token_file=/var/run/token&role=arn:aws:iam::1:role/p",
		"gs://b?access_id=publisher@example.iam.gserviceaccount.com&private_key_path=/secrets/key.pem",
		"azblob://c?storage_account=acme&domain=blob.core.windows.net",
		"file:///srv/www?create_dir=true", "file://./bucket",
	} {
		if err := CheckDeployURL(u); err != nil {
			t.Errorf("CheckDeployURL(%q) = %v", u, err)
		}
	}
}
