package format

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// The search index (DESIGN §11). The build writes, from public text only:
//
//	search/index.html        the search page; a query is its URL: search/?q=…
//	search/index.json        the index's root ([SearchRoot])
//	search/t/x<HEX>.json     one shard per term prefix ([SearchShard]), HEX the
//	                         prefix's UTF-8 bytes in hex ("x.json": the empty prefix)
//	search/d/<K>.json        the documents numbered from K×[SearchDocsPerFile]
//	                         on, a JSON array of [SearchDoc] (title, address,
//	                         date and label, without text: snippets come
//	                         from the page itself); the last file may hold
//	                         fewer
//
// and, for each audience with restricted text, a sealed index: a packet
// ([PacketPath], padded and named like a passage's) encrypted to the
// audience's key, whose plaintext is a [SealedSearch]; a large one keeps
// its shards in packets of their own, which only it names. The root lists
// each sealed index under a tag ([SearchTag]) that only holders of the
// audience's key can work out, so that a reader's browser fetches only
// the indexes of its own audiences, and no one else learns which index is
// whose.
//
// Terms are what [SearchTokens] rules give: runs of letters, marks and
// numbers, lowercased, of 2 to [SearchMaxTerm] characters. A posting is
// a document's number and a weight of the term in it, 1 to 255 (the tf
// part of BM25, with k1 = [SearchK1], b = [SearchB] and the document's
// length against [SearchRefLength]); readers weigh each term by its idf
// from the number of its postings and the index's document count.
const (
	// SearchDir is the folder of the search page and the public index.
	SearchDir = "search"
	// SearchPage is the search page.
	SearchPage = SearchDir + "/index.html"
	// SearchIndex is the public index's root.
	SearchIndex = SearchDir + "/index.json"
	// SearchShardDir holds the public index's shards.
	SearchShardDir = SearchDir + "/t"
	// SearchDocDir holds the public documents.
	SearchDocDir = SearchDir + "/d"
	// SearchOpenedDir holds, in a readable copy, the reader's sealed
	// indexes opened ([SearchRoot.Opened]).
	SearchOpenedDir = SearchDir + "/opened"
	// SearchVersion is the version of the index's files: a reader
	// refuses another.
	SearchVersion = 2
	// SearchDocsPerFile is how many public documents a file under
	// [SearchDocDir] holds: a query's first results fetch a few such
	// files, of about 200 bytes a document, and a site has an eighth as
	// many files to write and upload as it has pages.
	SearchDocsPerFile = 8
	// SearchScript is the browser's search script, which every page of
	// the default theme loads.
	SearchScript = "js/search.js"
	// SearchMaxTerm is the longest term indexed, in characters: a longer
	// word is indexed by its first SearchMaxTerm characters.
	SearchMaxTerm = 32
	// SearchK1, SearchB and SearchRefLength are the BM25 parameters of
	// the weights (k1 and b, times 100), and the document length (in
	// words) they are reckoned against.
	SearchK1        = 120
	SearchB         = 75
	SearchRefLength = 300
	// SearchTagContext starts what [SearchTag] hashes.
	SearchTagContext = "conclave search tag v1:"
)

// SearchShardPath returns the path of the public shard of prefix.
func SearchShardPath(prefix string) string {
	return SearchShardDir + "/x" + hex.EncodeToString([]byte(prefix)) + ".json"
}

// SearchDocPath returns the path of public document file k, which holds
// the documents numbered from k×[SearchDocsPerFile] on.
func SearchDocPath(k int) string {
	return SearchDocDir + "/" + strconv.Itoa(k) + ".json"
}

// SearchTag returns the tag of the sealed index of the audience whose key
// is identity (its age text form, as the keyrings hold it): the first
// [DigestBytes] bytes of SHA-256([SearchTagContext] || identity), in
// hex. It tells nothing of the key, and is the same for as long as the
// audience keeps its key.
func SearchTag(identity string) string {
	return DigestNameOf(sha256.Sum256([]byte(SearchTagContext + identity)))
}

// SearchRoot is the JSON of [SearchIndex].
type SearchRoot struct {
	Version int `json:"version"`
	// Docs is the number of public documents: they are numbered from 0.
	Docs int `json:"docs"`
	// Shards are the prefixes of the shards, each as the hex of its
	// UTF-8 bytes, sorted. A term is in the shard of its longest prefix
	// listed.
	Shards []string `json:"shards"`
	// Sealed lists the sealed indexes.
	Sealed []SealedRef `json:"sealed"`
	// Opened lists, in a readable copy (conclave open), the sealed
	// indexes of its reader, opened: [SealedSearch] files in clear under
	// [SearchOpenedDir], their shards' terms merged into Terms.
	Opened []string `json:"opened,omitempty"`
}

// SealedRef is one sealed index of [SearchRoot].
type SealedRef struct {
	Tag    string `json:"tag"`    // SearchTag of its audience's key
	Packet string `json:"packet"` // its root's packet, a PacketPath
}

// SearchShard is the JSON of a shard: its terms, each with its postings
// in base64: per document, in increasing order, the difference from the
// previous document's number (from -1) as an unsigned LEB128 varint,
// then the weight, one byte.
type SearchShard struct {
	Version int               `json:"version"`
	Prefix  string            `json:"prefix"` // as in SearchRoot.Shards
	Terms   map[string]string `json:"terms"`
}

// SearchDoc is a document of an index: a page's public text, or a
// restricted passage (a page restricted as a whole) in a sealed index.
type SearchDoc struct {
	URL   string `json:"url"`   // the page's address from the site's root, e.g. "briefings/x/"
	Title string `json:"title"` // the page's title
	Date  string `json:"date,omitempty"`
	ISO   string `json:"iso,omitempty"` // the date, machine-readable
	TLP   string `json:"tlp,omitempty"` // the label, e.g. "TLP:AMBER"
	Class string `json:"class,omitempty"`
	// Audience is a sealed passage's audience, as its placeholder shows
	// it; "" for public text.
	Audience string `json:"audience,omitempty"`
	// Page is, in a sealed index, the number of the public document of
	// the passage's page, whose hits it adds to; nil for a page without
	// one (restricted as a whole).
	Page *int `json:"page,omitempty"`
	// Text is its plain text (the start, for a long page), in a sealed
	// index only.
	Text string `json:"text,omitempty"`
}

// SealedSearch is the plaintext of a sealed index's root packet: its
// documents, and its terms in the root itself (Terms) or in shards of
// their own (Shards: prefix as in SearchRoot.Shards → packet path).
type SealedSearch struct {
	Version int               `json:"version"`
	Docs    []SearchDoc       `json:"docs"`
	Terms   map[string]string `json:"terms,omitempty"`
	Shards  map[string]string `json:"shards,omitempty"`
}
