/*
Copyright 2026 The jobserver Authors.

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
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateIndexesFormat(t *testing.T) {
	cases := map[string]struct {
		indexes     string
		completions int32
		wantTotal   int32
		wantErr     string
	}{
		"empty":                             {indexes: "", completions: 6},
		"single index":                      {indexes: "1", completions: 6, wantTotal: 1},
		"single interval":                   {indexes: "1-3", completions: 6, wantTotal: 3},
		"mixed":                             {indexes: "0,1-3,5,7-10", completions: 12, wantTotal: 9},
		"last index":                        {indexes: "5", completions: 6, wantTotal: 1},
		"extra space":                       {indexes: "0,1-3, 5", completions: 6, wantErr: `cannot convert string to integer for index: " 5"`},
		"too large index":                   {indexes: "0,1-3,5", completions: 5, wantErr: `too large index: "5"`},
		"too large interval end":            {indexes: "0-5", completions: 5, wantErr: `too large index: "5"`},
		"zero completions":                  {indexes: "0", completions: 0, wantErr: `too large index: "0"`},
		"non-increasing order of intervals": {indexes: "1-3,0,5", completions: 6, wantErr: `non-increasing order, previous: 3, current: 0`},
		"repeated index":                    {indexes: "0,0,5", completions: 6, wantErr: `non-increasing order, previous: 0, current: 0`},
		"interval of one index":             {indexes: "0,1-1,5", completions: 6, wantErr: `non-increasing order, previous: 1, current: 1`},
		"starting with '-'":                 {indexes: "-1,0", completions: 6, wantErr: `cannot convert string to integer for index: ""`},
		"ending with '-'":                   {indexes: "0,1-", completions: 6, wantErr: `cannot convert string to integer for index: ""`},
		"repeated '-'":                      {indexes: "0,1--3", completions: 6, wantErr: `the fragment "1--3" violates the requirement that an index interval can have at most two parts separated by '-'`},
		"repeated ','":                      {indexes: "0,,1,3", completions: 6, wantErr: `cannot convert string to integer for index: ""`},
		"number larger than int32 is not truncated": {indexes: "4294967296", completions: 6, wantErr: `too large index: "4294967296"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			total, err := validateIndexesFormat(tc.indexes, tc.completions)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Equal(t, tc.wantErr, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantTotal, total)
		})
	}
}

func TestValidateFailedIndexesNotOverlapCompleted(t *testing.T) {
	cases := map[string]struct {
		completed, failed string
		completions       int32
		wantErr           string
	}{
		"empty":                     {completions: 6},
		"empty completed":           {failed: "1-3", completions: 6},
		"empty failed":              {completed: "1-2", completions: 6},
		"disjoint":                  {completed: "0,2-4,6-8,12-19", failed: "1,9-10", completions: 20},
		"overlap":                   {completed: "0,2-4,6-8,12-19", failed: "1,8,9-10", completions: 20, wantErr: "failedIndexes and completedIndexes overlap at index: 8"},
		"overlap in intervals":      {completed: "2-6", failed: "4-9", completions: 20, wantErr: "failedIndexes and completedIndexes overlap at index: 4"},
		"corrupt completed skipped": {completed: "0,2-4,x,6-8,12-19", failed: "1,8,9-10", completions: 20, wantErr: "failedIndexes and completedIndexes overlap at index: 8"},
		"corrupt failed skipped":    {completed: "0,2-4,6-8,12-19", failed: "1,y,8,9-10", completions: 20, wantErr: "failedIndexes and completedIndexes overlap at index: 8"},
		"corrupt first intervals":   {completed: "x,0,2-4,6-8,12-19", failed: "y,1,8,9-10", completions: 20, wantErr: "failedIndexes and completedIndexes overlap at index: 8"},
		"corrupt last intervals":    {completed: "0,2-4,6-8,12-19,x", failed: "1,9-10,y", completions: 20},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := validateFailedIndexesNotOverlapCompleted(tc.completed, tc.failed, tc.completions)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.wantErr, err.Error())
		})
	}
}
