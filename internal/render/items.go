package render

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"html/template"
	"strings"
	"sync"
)

// ItemLayout is the partial that renders one briefing in a list: list
// pages range over .Items, each the partial executed with an [ItemView].
const ItemLayout = "list-item.html"

// ItemView is what [ItemLayout] sees: a listed page, and Root, the
// relative path from the list page to the site root.
type ItemView struct {
	*PageView
	Root string
}

// listItems renders the items of the list pages of one [Renderer.Lists]
// call. A briefing is on the home page, on its section's list and on the
// list of each of its tags, at different depths: its item is rendered
// once, with a mark of this call's own in place of Root, and each list
// page puts its Root where the mark is.
//
// The mark is letters and digits, which every html/template escaper
// leaves as they are; a root ("./", "../../") is left as it is where the
// default theme puts it, at the start of a URL attribute. Should a theme
// put it where an escaper changes it (a query, a script), the first item
// of each root is also rendered with the root itself and compared, and
// items at a root whose two renderings differ are rendered one by one.
// Nothing an author writes holds the mark: it is drawn at random for
// each call.
type listItems struct {
	theme  *Theme
	mark   string
	pieces sync.Map // *PageView → []string, the item split at the mark
	exact  sync.Map // root → bool: whether putting it at the mark gives the item rendered with it
}

func newListItems(theme *Theme) *listItems {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	return &listItems{theme: theme, mark: "conclaveroot" + hex.EncodeToString(b)}
}

// Items are the list page's briefings, each rendered by [ItemLayout].
func (d *data) Items() ([]template.HTML, error) {
	if d.items == nil {
		return nil, errors.New(".Items: only list pages list briefings")
	}
	out := make([]template.HTML, len(d.Pages))
	for i, v := range d.Pages {
		s, err := d.items.item(v, d.Root)
		if err != nil {
			return nil, err
		}
		out[i] = template.HTML(s)
	}
	return out, nil
}

// item is v's item on a list page at root.
func (li *listItems) item(v *PageView, root string) (string, error) {
	p, ok := li.pieces.Load(v)
	if !ok {
		s, err := li.render(v, li.mark)
		if err != nil {
			return "", err
		}
		p, _ = li.pieces.LoadOrStore(v, strings.Split(s, li.mark))
	}
	s := strings.Join(p.([]string), root)
	exact, ok := li.exact.Load(root)
	if !ok {
		direct, err := li.render(v, root)
		if err != nil {
			return "", err
		}
		exact, _ = li.exact.LoadOrStore(root, direct == s)
	}
	if !exact.(bool) {
		return li.render(v, root)
	}
	return s, nil
}

func (li *listItems) render(v *PageView, root string) (string, error) {
	var b strings.Builder
	if err := li.theme.executeItem(&b, ItemView{PageView: v, Root: root}); err != nil {
		return "", err
	}
	return b.String(), nil
}
