//go:build !linux

package pull

import "errors"

func exchange(a, b string) error { return errors.ErrUnsupported }
