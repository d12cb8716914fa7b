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
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/apiserver/pkg/storage/storagebackend"
)

// alarmCheckTimeout bounds one look at etcd's alarms.
const alarmCheckTimeout = 2 * time.Second

// addEtcdAlarmsReadyzCheck makes /readyz (and /healthz) fail while etcd has
// an alarm raised. The generic server's etcd checks read a key, which still
// works under NOSPACE (the database reached its quota, --quota-backend-bytes,
// and every write fails with "mvcc: database space exceeded") or CORRUPT;
// without this check a replica would look ready while it refuses every
// create. Not on /livez: a restart does not clear an alarm.
// docs/DESIGN.md §3.7 gives the recovery.
func addEtcdAlarmsReadyzCheck(c *genericapiserver.RecommendedConfig, cfg storagebackend.TransportConfig) error {
	tlsInfo := transport.TLSInfo{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, TrustedCAFile: cfg.TrustedCAFile}
	tlsConfig, err := tlsInfo.ClientConfig()
	if err != nil {
		return fmt.Errorf("etcd alarms check: %w", err)
	}
	if cfg.CertFile == "" && cfg.KeyFile == "" && cfg.TrustedCAFile == "" {
		tlsConfig = nil // plain http, as the storage's own client does
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.ServerList,
		TLS:         tlsConfig,
		DialTimeout: alarmCheckTimeout,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return fmt.Errorf("etcd alarms check: %w", err)
	}
	go func() {
		<-c.DrainedNotify()
		_ = client.Close()
	}()
	check := func(r *http.Request) error {
		ctx := context.Background()
		if r != nil {
			ctx = r.Context()
		}
		ctx, cancel := context.WithTimeout(ctx, alarmCheckTimeout)
		defer cancel()
		resp, err := client.AlarmList(ctx)
		if err != nil {
			// Unreachable: the etcd check says so; this one only reports alarms.
			return nil
		}
		return alarmsError(resp.Alarms)
	}
	c.AddReadyzChecks(healthz.NamedCheck("etcd-alarms", check))
	c.HealthzChecks = append(c.HealthzChecks, healthz.NamedCheck("etcd-alarms", check))
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
