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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCopyLinesBoundsMemory: a container that writes no newline cannot make
// jobserver hold its whole output; the line goes out in tagged pieces of
// at most maxLineBytes, and nothing is lost.
func TestCopyLinesBoundsMemory(t *testing.T) {
	long := strings.Repeat("x", 3*maxLineBytes+10)
	in := "short\n" + long + "\nlast, no newline"
	var out strings.Builder
	require.NoError(t, copyLines(&lineWriter{w: &out}, "[pod/p/c] ", strings.NewReader(in)))

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 6, "short, 4 pieces of the long line, last")
	assert.Equal(t, "[pod/p/c] short", lines[0])
	var joined strings.Builder
	for _, l := range lines[1:5] {
		require.True(t, strings.HasPrefix(l, "[pod/p/c] "), "every piece is tagged")
		piece := strings.TrimPrefix(l, "[pod/p/c] ")
		assert.LessOrEqual(t, len(piece), maxLineBytes)
		joined.WriteString(piece)
	}
	assert.Equal(t, long, joined.String(), "the pieces are the line")
	assert.Equal(t, "[pod/p/c] last, no newline", lines[5], "a last line without newline gets one")
}
