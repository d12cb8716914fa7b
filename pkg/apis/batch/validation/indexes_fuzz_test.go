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

package validation

import (
	"strings"
	"testing"
)

// FuzzValidateIndexes: the API's parser of completedIndexes, failedIndexes
// and successPolicy's succeededIndexes never panics; a string it accepts
// names between 0 and completions indexes, each interval within
// [0, completions); and a non-empty accepted string overlaps itself.
func FuzzValidateIndexes(f *testing.F) {
	for _, seed := range []struct {
		a, b string
		c    int32
	}{
		{"", "", 3}, {"0", "1", 2}, {"1,3-5,7", "2,6", 10}, {"0-2,3-4", "5", 6}, {"3-5,1", "", 10},
		{"5-3", "1", 10}, {"1-2-3", "0", 5}, {"-1", "0", 3}, {"+2", "2", 3}, {"01,02", "0", 3},
		{"2147483647", "0", 2147483647}, {"0-2147483646", "5", 2147483647}, {",", ",", 3}, {"0-", "", 3},
	} {
		f.Add(seed.a, seed.b, seed.c)
	}
	f.Fuzz(func(t *testing.T, a, b string, completions int32) {
		if completions < 0 {
			return
		}
		n, err := validateIndexesFormat(a, completions)
		_, errB := validateIndexesFormat(b, completions)
		overlap := validateFailedIndexesNotOverlapCompleted(a, b, completions)
		if err != nil {
			return
		}
		if n < 0 || n > completions {
			t.Fatalf("validateIndexesFormat(%q, %d) = %d indexes", a, completions, n)
		}
		if a == "" {
			return
		}
		count := int32(0)
		for _, part := range strings.Split(a, ",") {
			x, y, err := parseIndexInterval(part, completions)
			if err != nil || x < 0 || y < x || y >= completions {
				t.Fatalf("accepted %q, but its interval %q is (%d, %d, %v)", a, part, x, y, err)
			}
			count += y - x + 1
		}
		if count != n {
			t.Fatalf("validateIndexesFormat(%q) = %d, its intervals hold %d", a, n, count)
		}
		if validateFailedIndexesNotOverlapCompleted(a, a, completions) == nil {
			t.Fatalf("%q does not overlap itself", a)
		}
		if errB == nil && b == a && overlap == nil {
			t.Fatalf("%q and %q are equal but do not overlap", a, b)
		}
	})
}
