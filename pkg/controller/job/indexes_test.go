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
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIndexesString(t *testing.T) {
	cases := []struct {
		name    string
		indexes []int
		want    string
	}{
		{name: "empty", want: ""},
		{name: "single", indexes: []int{4}, want: "4"},
		{name: "pair stays a list", indexes: []int{0, 1}, want: "0,1"},
		{name: "run of three becomes a range", indexes: []int{3, 4, 5}, want: "3-5"},
		{name: "mixed", indexes: []int{1, 3, 4, 5, 7}, want: "1,3-5,7"},
		{name: "duplicates merge", indexes: []int{2, 2, 3}, want: "2,3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, orderedIntervals(nil).withIndexes(tc.indexes).String())
		})
	}
}

func TestParseIndexes(t *testing.T) {
	cases := []struct {
		name        string
		in          string
		completions int
		want        string
		total       int
	}{
		{name: "empty", in: "", completions: 5, want: "", total: 0},
		{name: "round trip", in: "1,3-5,7", completions: 10, want: "1,3-5,7", total: 5},
		{name: "adjacent values merge", in: "0,1,2", completions: 10, want: "0-2", total: 3},
		{name: "indexes beyond completions are dropped (elastic scale-down)", in: "0-9", completions: 4, want: "0-3", total: 4},
		{name: "interval starting beyond completions is dropped", in: "1,6-8", completions: 5, want: "1", total: 1},
		{name: "corrupt parts are skipped", in: "x,2,3-y,5", completions: 10, want: "2,5", total: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := parseIndexes(tc.in, tc.completions)
			assert.Equal(t, tc.want, got.String())
			assert.Equal(t, tc.total, got.total())
		})
	}
}

func TestIntervalsHasAndMerge(t *testing.T) {
	oi := parseIndexes("1,3-5,9", 20)
	for ix, want := range map[int]bool{0: false, 1: true, 2: false, 3: true, 5: true, 6: false, 9: true, 10: false} {
		assert.Equal(t, want, oi.has(ix), "has(%d)", ix)
	}
	assert.Equal(t, "0-5,8,9", oi.merge(parseIndexes("0,2,8", 20)).String())
	assert.Equal(t, "0-10", oi.merge(parseIndexes("0,2,6-8,10", 20)).String())
}
