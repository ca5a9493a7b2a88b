package schedule

import (
	"archive/zip"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"time"
)

// TZDataRelease is the IANA tz database release shipped with this package.
// Every zone is loaded from this copy, never from the host, so that a
// schedule fires at the same instants on every machine.
const TZDataRelease = "2025c"

// zoneinfoZip is the tz database as Go's toolchain packs it
// ($GOROOT/lib/time/zoneinfo.zip of Go 1.26, release 2025c), pinned here.
//
//go:embed tzdata/zoneinfo.zip
var zoneinfoZip []byte

// LoadLocation loads an IANA zone ("Europe/Berlin") from the tz database
// shipped with the package. "" and "UTC" give UTC. Unlike time.LoadLocation,
// the result never depends on the host's zoneinfo.
func LoadLocation(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	zr, err := zip.NewReader(bytes.NewReader(zoneinfoZip), int64(len(zoneinfoZip)))
	if err != nil {
		return nil, fmt.Errorf("schedule: reading the embedded tz database: %w", err)
	}
	for _, f := range zr.File {
		if f.Name != name {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("schedule: time zone %q: %w", name, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("schedule: time zone %q: %w", name, err)
		}
		return time.LoadLocationFromTZData(name, data)
	}
	return nil, fmt.Errorf("%w: %q is not in tz database %s", ErrUnknownZone, name, TZDataRelease)
}
