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
	"k8s.io/utils/ptr"

	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
)

func TestMatchSuccessPolicy(t *testing.T) {
	cases := []struct {
		name      string
		rules     []batchv1.SuccessPolicyRule
		succeeded string
		want      string
	}{
		{name: "nothing succeeded", rules: []batchv1.SuccessPolicyRule{{SucceededCount: ptr.To[int32](0)}}, succeeded: "", want: ""},
		{name: "all listed indexes succeeded", rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0,2-4")}}, succeeded: "0-4", want: "Matched rules at index 0"},
		{name: "a listed index is missing", rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0,2-4")}}, succeeded: "0,2,3", want: ""},
		{name: "enough of the listed indexes", rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0-5"), SucceededCount: ptr.To[int32](2)}}, succeeded: "1,4,8", want: "Matched rules at index 0"},
		{name: "not enough of the listed indexes", rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0-5"), SucceededCount: ptr.To[int32](3)}}, succeeded: "1,4,7-9", want: ""},
		{name: "count only", rules: []batchv1.SuccessPolicyRule{{SucceededCount: ptr.To[int32](3)}}, succeeded: "2,7,9", want: "Matched rules at index 0"},
		{
			name:      "second rule matches",
			rules:     []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("9")}, {SucceededCount: ptr.To[int32](1)}},
			succeeded: "3",
			want:      "Matched rules at index 1",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg, ok := matchSuccessPolicy(&batchv1.SuccessPolicy{Rules: tc.rules}, 10, parseIndexes(tc.succeeded, 10))
			assert.Equal(t, tc.want, msg)
			assert.Equal(t, tc.want != "", ok)
		})
	}
}
