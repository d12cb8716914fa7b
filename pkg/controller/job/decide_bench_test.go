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
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// BenchmarkDecideLargeIndexedJob measures one sync of an Indexed Job whose
// pods are half succeeded (finalizers still on) and half running, at
// growing sizes side by side, so the per-pod cost (ns/op ÷ pods) shows
// whether Decide stays linear (upstream's BenchmarkLargeIndexedJob).
func BenchmarkDecideLargeIndexedJob(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("pods=%d", n), func(b *testing.B) {
			job := newJob(indexed(), completions(int32(2*n)), parallelism(int32(n)))
			pods := make([]*corev1.Pod, 0, n)
			for i := 0; i < n; i++ {
				phase := corev1.PodRunning
				if i%2 == 0 {
					phase = corev1.PodSucceeded
				}
				pods = append(pods, newPod(fmt.Sprintf("p-%d", i), phase, index(i)))
			}
			in := Input{Job: job, Pods: pods, Now: at(60)}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				_ = Decide(in)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/pod")
		})
	}
}
