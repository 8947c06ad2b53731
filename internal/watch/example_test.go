package watch_test

import (
	"errors"
	"log"

	"github.com/conclave-dev/conclave/internal/watch"
)

// A preview server rebuilds what a batch names, and everything when events
// were lost.
func ExampleWatcher() {
	w, err := watch.New("mysite", watch.Options{
		Paths: []string{"content", "themes", "static", "conclave.toml"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()

	for {
		select {
		case b, ok := <-w.Batches():
			if !ok {
				return
			}
			log.Printf("rebuilding for %d changed paths, first %v", len(b.Paths), b.Paths[0])
			// rebuild(b.Paths)
		case err, ok := <-w.Errors():
			if !ok {
				return
			}
			if errors.Is(err, watch.ErrOverflow) {
				log.Print("changes were lost: full rebuild")
				// rebuild(nil)
				continue
			}
			log.Print(err)
		}
	}
}
