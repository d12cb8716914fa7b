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
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/util/wait"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/apiserver/pkg/storage/storagebackend"
)

const (
	// alarmPollPeriod is how often jobserver asks etcd for its alarms.
	alarmPollPeriod = 5 * time.Second
	// alarmCheckTimeout bounds one look at etcd's alarms.
	alarmCheckTimeout = time.Second
)

// addEtcdAlarmsReadyzCheck makes /readyz (and /healthz) fail while etcd has
// an alarm raised. The generic server's etcd checks read a key, which still
// works under NOSPACE (the database reached its quota, --quota-backend-bytes,
// and every write fails with "mvcc: database space exceeded") or CORRUPT;
// without this check a replica would look ready while it refuses every
// create. Not on /livez: a restart does not clear an alarm.
//
// The alarms are polled in the background every alarmPollPeriod, from a
// post-start hook until the server stops, and the check answers from the
// last poll: a probe never waits on etcd for it, and probes cost etcd
// nothing. A poll that cannot reach etcd keeps the last answer (the etcd
// check reports reachability). docs/DESIGN.md §3.7 gives the recovery.
func addEtcdAlarmsReadyzCheck(c *genericapiserver.RecommendedConfig, cfg storagebackend.TransportConfig) error {
	var raised atomic.Pointer[error]
	poll := func(ctx context.Context, client *clientv3.Client) {
		ctx, cancel := context.WithTimeout(ctx, alarmCheckTimeout)
		defer cancel()
		resp, err := client.AlarmList(ctx)
		if err != nil {
			return
		}
		err = alarmsError(resp.Alarms)
		raised.Store(&err)
	}
	if err := c.AddPostStartHook("etcd-alarms-poller", func(hookCtx genericapiserver.PostStartHookContext) error {
		client, err := newEtcdClient(cfg, alarmCheckTimeout)
		if err != nil {
			return fmt.Errorf("etcd alarms check: %w", err)
		}
		go func() {
			defer func() { _ = client.Close() }()
			wait.UntilWithContext(hookCtx, func(ctx context.Context) { poll(ctx, client) }, alarmPollPeriod)
		}()
		return nil
	}); err != nil {
		return err
	}
	check := healthz.NamedCheck("etcd-alarms", func(*http.Request) error {
		if err := raised.Load(); err != nil {
			return *err
		}
		return nil
	})
	c.AddReadyzChecks(check)
	c.HealthzChecks = append(c.HealthzChecks, check)
	return nil
}

// alarmsError describes the raised alarms, nil if there is none.
func alarmsError(alarms []*etcdserverpb.AlarmMember) error {
	var raised []string
	for _, a := range alarms {
		if a.Alarm != etcdserverpb.AlarmType_NONE {
			raised = append(raised, fmt.Sprintf("%s on member %x", a.Alarm, a.MemberID))
		}
	}
	if len(raised) == 0 {
		return nil
	}
	return fmt.Errorf("etcd alarm raised: %s; writes fail until an operator clears it (docs/DESIGN.md §3.7)", strings.Join(raised, ", "))
}
