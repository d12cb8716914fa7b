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

package apiserver

import (
	"k8s.io/apimachinery/pkg/runtime"
)

// withoutProtobuf serves an API group in every format of the wrapped
// serializer except protobuf. Jobs have no protobuf encoding; a client that
// prefers protobuf, as kube-controller-manager's metadata clients do (the
// namespace controller's deletecollection, the garbage collector's
// watches), must be answered in JSON rather than with an encoding error,
// which would leave namespaces stuck in Terminating.
type withoutProtobuf struct {
	runtime.NegotiatedSerializer
}

// SupportedMediaTypes lists the wrapped serializer's media types but protobuf.
func (s withoutProtobuf) SupportedMediaTypes() []runtime.SerializerInfo {
	var infos []runtime.SerializerInfo
	for _, info := range s.NegotiatedSerializer.SupportedMediaTypes() {
		if info.MediaType != runtime.ContentTypeProtobuf {
			infos = append(infos, info)
		}
	}
	return infos
}
