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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/endpoints/request"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
)

const (
	// DefaultStoreRecordName is the ConfigMap, in jobserver's namespace,
	// that records which store holds the cluster's Jobs.
	DefaultStoreRecordName = "jobserver-store"
	// storeIdentityKey is where, under the etcd prefix, the store keeps its
	// identity.
	storeIdentityKey = "/store-identity"
	// storeRecordPeriod is how often an unconfirmed store is checked again
	// (an operator may delete the record meanwhile).
	storeRecordPeriod = 5 * time.Second
	// storeRecordTimeout bounds one check.
	storeRecordTimeout = 10 * time.Second
)

// storeRecord keeps jobserver from serving a store that is not the one the
// cluster's Pods were made from. The Pods of jobserver's Jobs have the Jobs
// as owners; if jobserver came up on an empty or another store (a lost
// volume, a wrong --etcd-servers or --etcd-prefix, a data directory taken
// from another working directory), every owner would answer 404 and the
// cluster's garbage collector would delete every Pod.
//
// At first start jobserver writes a new identity into the store and the
// same identity into a ConfigMap in the cluster. At every start it compares
// them; until they match it answers every request for Jobs with 503 (so the
// garbage collector's owner lookups fail and it deletes nothing), /readyz
// fails naming the mismatch, and the controllers do not start. The
// comparison is repeated every storeRecordPeriod, so the operator's
// confirmation (deleting the ConfigMap: the recorded store's Jobs are given
// up) takes effect without a restart. Once they match, the check is done.
type storeRecord struct {
	// key is the identity's etcd key; store describes the store in messages.
	key, store string
	// namespace and name are the ConfigMap's.
	namespace, name string
	transport       storagebackend.TransportConfig
	kube            kubernetes.Interface

	// problem is why the store is not confirmed yet.
	problem   atomic.Pointer[error]
	confirmed chan struct{}
	once      sync.Once
}

// storeIdentity is what the store and the ConfigMap hold.
type storeIdentity struct {
	Identity string `json:"identity"`
	Created  string `json:"created"`
}

func newStoreRecord(kube kubernetes.Interface, transport storagebackend.TransportConfig, prefix, store, record string) (*storeRecord, error) {
	namespace, name, err := parseStoreRecord(record)
	if err != nil {
		return nil, err
	}
	r := &storeRecord{
		key:       strings.TrimSuffix(prefix, "/") + storeIdentityKey,
		store:     store,
		namespace: namespace,
		name:      name,
		transport: transport,
		kube:      kube,
		confirmed: make(chan struct{}),
	}
	notYet := errors.New("the store's identity has not been compared with the cluster's record yet")
	r.problem.Store(&notYet)
	return r, nil
}

// parseStoreRecord splits NAMESPACE/NAME and checks both.
func parseStoreRecord(record string) (namespace, name string, err error) {
	namespace, name, ok := strings.Cut(record, "/")
	if !ok {
		return "", "", fmt.Errorf("--store-record %q: want NAMESPACE/NAME", record)
	}
	var msgs []string
	msgs = append(msgs, validation.IsDNS1123Label(namespace)...)
	msgs = append(msgs, validation.IsDNS1123Subdomain(name)...)
	if len(msgs) > 0 {
		return "", "", fmt.Errorf("--store-record %q: %s", record, strings.Join(msgs, "; "))
	}
	return namespace, name, nil
}

// install adds the check to c: the post-start hook that runs it, the
// readyz check, and the filter that refuses Job requests until confirmed.
func (r *storeRecord) install(c *genericapiserver.RecommendedConfig) error {
	if err := c.AddPostStartHook("store-record", func(hookCtx genericapiserver.PostStartHookContext) error {
		client, err := newEtcdClient(r.transport, storeRecordTimeout)
		if err != nil {
			return fmt.Errorf("store record: %w", err)
		}
		go func() {
			defer func() { _ = client.Close() }()
			ctx, cancel := context.WithCancel(hookCtx)
			defer cancel()
			wait.UntilWithContext(ctx, func(ctx context.Context) {
				if r.check(ctx, client) {
					cancel()
				}
			}, storeRecordPeriod)
		}()
		return nil
	}); err != nil {
		return err
	}
	check := healthz.NamedCheck("store-identity", func(*http.Request) error {
		if r.isConfirmed() {
			return nil
		}
		return *r.problem.Load()
	})
	c.AddReadyzChecks(check)
	c.HealthzChecks = append(c.HealthzChecks, check)
	next := c.BuildHandlerChainFunc
	c.BuildHandlerChainFunc = func(apiHandler http.Handler, gc *genericapiserver.Config) http.Handler {
		return next(r.gate(apiHandler), gc)
	}
	return nil
}

// Confirmed is closed once the store is the one the cluster records.
func (r *storeRecord) Confirmed() <-chan struct{} { return r.confirmed }

func (r *storeRecord) isConfirmed() bool {
	select {
	case <-r.confirmed:
		return true
	default:
		return false
	}
}

// gate answers requests for the group's resources with 503 until the store
// is confirmed. Discovery, health and metrics are served as usual.
func (r *storeRecord) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.isConfirmed() {
			next.ServeHTTP(w, req)
			return
		}
		info, ok := request.RequestInfoFrom(req.Context())
		if !ok || !info.IsResourceRequest || info.APIGroup != batch.GroupName {
			next.ServeHTTP(w, req)
			return
		}
		err := apierrors.NewServiceUnavailable("jobserver serves no Job until its store is confirmed: " + (*r.problem.Load()).Error())
		// No Retry-After: client-go would retry up to 10 times, each
		// request of a controller or of kubectl then hanging for minutes
		// without saying why.
		responsewriters.ErrorNegotiated(err, Codecs, schema.GroupVersion{Group: info.APIGroup, Version: info.APIVersion}, w, req)
	})
}

// check compares the store's identity with the cluster's record, writing
// both at first start, and tells whether they match.
func (r *storeRecord) check(ctx context.Context, etcd *clientv3.Client) bool {
	ctx, cancel := context.WithTimeout(ctx, storeRecordTimeout)
	defer cancel()
	err := r.compare(ctx, etcd)
	if err == nil {
		r.once.Do(func() {
			klog.InfoS("The store is the one the cluster records", "store", r.store, "record", r.namespace+"/"+r.name)
			close(r.confirmed)
		})
		return true
	}
	klog.ErrorS(err, "Not serving Jobs", "store", r.store, "record", r.namespace+"/"+r.name)
	r.problem.Store(&err)
	return false
}

func (r *storeRecord) compare(ctx context.Context, etcd *clientv3.Client) error {
	stored, err := r.storedIdentity(ctx, etcd)
	if err != nil {
		return err
	}
	cm, err := r.kube.CoreV1().ConfigMaps(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		// First start, or the operator gave the recorded store up: the
		// store (new if need be) becomes the cluster's.
		if stored == nil {
			if stored, err = r.createStoredIdentity(ctx, etcd); err != nil {
				return err
			}
		}
		return r.createRecord(ctx, *stored)
	case err != nil:
		return fmt.Errorf("reading the cluster's record of the store, ConfigMap %s/%s: %w", r.namespace, r.name, err)
	}
	recorded := storeIdentity{Identity: cm.Data["identity"], Created: cm.Data["created"]}
	give := fmt.Sprintf("It serves no Job and starts no controller, so the garbage collector deletes no Pod of the recorded store's Jobs. "+
		"Point jobserver at its store (or restore the store from a backup) and restart it; "+
		"or, to give the recorded store's Jobs up for good (their Pods are then deleted), delete ConfigMap %s/%s.", r.namespace, r.name)
	if stored == nil {
		return fmt.Errorf("the store (%s) is empty of jobserver's identity, but ConfigMap %s/%s records store %s (created %s): "+
			"jobserver is on an empty or wrong store (a lost volume, a wrong --etcd-servers or --etcd-prefix, "+
			"a wrong --embedded-etcd-data-dir). %s", r.store, r.namespace, r.name, recorded.Identity, recorded.Created, give)
	}
	if stored.Identity != recorded.Identity {
		return fmt.Errorf("the store (%s) is store %s (created %s), but ConfigMap %s/%s records store %s (created %s): "+
			"jobserver is on another store than the one the cluster's Pods were made from. %s",
			r.store, stored.Identity, stored.Created, r.namespace, r.name, recorded.Identity, recorded.Created, give)
	}
	return nil
}

// storedIdentity reads the store's identity; nil if it has none.
func (r *storeRecord) storedIdentity(ctx context.Context, etcd *clientv3.Client) (*storeIdentity, error) {
	resp, err := etcd.Get(ctx, r.key)
	if err != nil {
		return nil, fmt.Errorf("reading the store's identity (%s, key %s): %w", r.store, r.key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return r.decode(resp.Kvs[0].Value)
}

func (r *storeRecord) decode(raw []byte) (*storeIdentity, error) {
	var id storeIdentity
	if err := json.Unmarshal(raw, &id); err != nil || id.Identity == "" {
		return nil, fmt.Errorf("the store's identity (%s, key %s) is unreadable: %q", r.store, r.key, raw)
	}
	return &id, nil
}

// createStoredIdentity gives the store a new identity, unless another
// replica did first, and returns the store's identity.
func (r *storeRecord) createStoredIdentity(ctx context.Context, etcd *clientv3.Client) (*storeIdentity, error) {
	id := storeIdentity{Identity: string(uuid.NewUUID()), Created: time.Now().UTC().Format(time.RFC3339)}
	raw, err := json.Marshal(id)
	if err != nil {
		return nil, err
	}
	resp, err := etcd.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(r.key), "=", 0)).
		Then(clientv3.OpPut(r.key, string(raw))).
		Else(clientv3.OpGet(r.key)).
		Commit()
	if err != nil {
		return nil, fmt.Errorf("writing the store's identity (%s, key %s): %w", r.store, r.key, err)
	}
	if resp.Succeeded {
		klog.InfoS("Gave the store an identity", "store", r.store, "identity", id.Identity)
		return &id, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return nil, fmt.Errorf("the store's identity (%s, key %s) vanished while being written", r.store, r.key)
	}
	return r.decode(kvs[0].Value)
}

// createRecord records id in the cluster. If another replica recorded one
// meanwhile, the next check compares with it.
func (r *storeRecord) createRecord(ctx context.Context, id storeIdentity) error {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      r.name,
			Namespace: r.namespace,
			Labels:    map[string]string{"app.kubernetes.io/name": "jobserver", "app.kubernetes.io/part-of": "jobserver"},
			Annotations: map[string]string{
				"batch.jobserver.dev/description": "The identity of the store (etcd) that holds this cluster's batch.jobserver.dev Jobs. " +
					"jobserver serves no Job from a store with another identity, so that the garbage collector never deletes " +
					"the Pods of Jobs it cannot see. Delete this ConfigMap only to give the recorded store's Jobs up.",
			},
		},
		Data: map[string]string{"identity": id.Identity, "created": id.Created, "store": r.store},
	}
	_, err := r.kube.CoreV1().ConfigMaps(r.namespace).Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("ConfigMap %s/%s was recorded by another replica meanwhile; comparing again", r.namespace, r.name)
	}
	if err != nil {
		return fmt.Errorf("recording the store's identity in ConfigMap %s/%s: %w", r.namespace, r.name, err)
	}
	klog.InfoS("Recorded the store's identity in the cluster", "record", r.namespace+"/"+r.name, "identity", id.Identity)
	return nil
}

// newEtcdClient is a client of the etcd the storage uses, with the same
// TLS settings.
func newEtcdClient(cfg storagebackend.TransportConfig, dialTimeout time.Duration) (*clientv3.Client, error) {
	tlsInfo := transport.TLSInfo{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, TrustedCAFile: cfg.TrustedCAFile}
	tlsConfig, err := tlsInfo.ClientConfig()
	if err != nil {
		return nil, err
	}
	if cfg.CertFile == "" && cfg.KeyFile == "" && cfg.TrustedCAFile == "" {
		tlsConfig = nil // plain http or a unix socket, as the storage's own client
	}
	return clientv3.New(clientv3.Config{
		Endpoints:   cfg.ServerList,
		TLS:         tlsConfig,
		DialTimeout: dialTimeout,
		Logger:      zap.NewNop(),
	})
}
