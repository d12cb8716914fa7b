/*
Copyright The jobserver Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package job

import (
	"strings"
	"testing"
)

// FuzzParseIndexes: the controller reads status.completedIndexes and
// status.failedIndexes with parseIndexes, tolerating anything. Whatever the
// string, the result stays within [0, completions), its intervals are
// sorted, disjoint and not adjacent, its String() reads back as itself, and
// has/total agree with the intervals.
func FuzzParseIndexes(f *testing.F) {
	for _, seed := range []struct {
		s string
		c int
	}{
		{"", 3}, {"0", 1}, {"1,3-5,7", 10}, {"0-2,3-4", 5}, {"3-5,1", 10}, {"5-3", 10},
		{"1,2", 3}, {"0-1000000", 4}, {"-1", 3}, {"+2", 3}, {"01,02", 3}, {"1-2-3", 5},
		{"9223372036854775807", 3}, {"2,1", 3}, {",,", 3}, {"0-", 3}, {"a-b", 3},
	} {
		f.Add(seed.s, seed.c)
	}
	f.Fuzz(func(t *testing.T, s string, completions int) {
		if completions < 0 || completions > 1<<20 {
			return
		}
		oi := parseIndexes(s, completions)
		total := 0
		for i, iv := range oi {
			if iv.First < 0 || iv.Last < iv.First || iv.Last >= completions {
				t.Fatalf("parseIndexes(%q, %d) = %v: interval %v out of [0, %d)", s, completions, oi, iv, completions)
			}
			if i > 0 && oi[i-1].Last+1 >= iv.First {
				t.Fatalf("parseIndexes(%q, %d) = %v: intervals not sorted, disjoint and apart", s, completions, oi)
			}
			total += iv.Last - iv.First + 1
		}
		if oi.total() != total {
			t.Fatalf("total() = %d, intervals hold %d", oi.total(), total)
		}
		again := parseIndexes(oi.String(), completions)
		if again.String() != oi.String() || again.total() != total {
			t.Fatalf("String() %q of parseIndexes(%q, %d) reads back as %q", oi.String(), s, completions, again.String())
		}
		// has agrees with the intervals at their edges and just outside.
		for _, iv := range oi {
			for _, ix := range []int{iv.First - 1, iv.First, iv.Last, iv.Last + 1} {
				want := false
				for _, other := range oi {
					want = want || (ix >= other.First && ix <= other.Last)
				}
				if oi.has(ix) != want {
					t.Fatalf("%v.has(%d) = %v", oi, ix, !want)
				}
			}
		}
		// The canonical form has only digits, commas and dashes.
		if strings.Trim(oi.String(), "0123456789,-") != "" {
			t.Fatalf("String() = %q", oi.String())
		}
	})
}
