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

package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/jobserver-dev/jobserver/pkg/admission/quota"
	batchv1 "github.com/jobserver-dev/jobserver/pkg/apis/batch/v1"
	clientset "github.com/jobserver-dev/jobserver/pkg/generated/clientset/versioned"
	"github.com/jobserver-dev/jobserver/test/integration/framework"
)

// TestAdmission runs jobserver against a real kube-apiserver and checks the
// admission it applies to Jobs with the cluster's objects: ResourceQuotas
// (count/jobs.batch.jobserver.dev), ValidatingAdmissionPolicies, the
// permissions that owner references imply
// (OwnerReferencesPermissionEnforcement), and the request body limit.
// The controller is off: no Job here needs Pods.
func TestAdmission(t *testing.T) {
	cluster := framework.StartCluster(t)
	server := framework.StartServer(t, framework.ServerOptions{
		Cluster:     cluster,
		EtcdServers: cluster.EtcdURL,
		// A denial is remembered 1 s, not 10 s: the tests grant
		// permissions after a refusal.
		ExtraFlags: []string{"--controllers-enabled=false", "--authorization-webhook-cache-unauthorized-ttl=1s"},
	})
	env := &admissionEnv{cluster: cluster, server: server}
	t.Run("ResourceQuota", func(t *testing.T) { t.Parallel(); testResourceQuota(t, env) })
	t.Run("ValidatingAdmissionPolicy", func(t *testing.T) { t.Parallel(); testValidatingAdmissionPolicy(t, env) })
	t.Run("OwnerReferences", func(t *testing.T) { t.Parallel(); testOwnerReferencesPermissions(t, env) })
	t.Run("RequestBodyLimit", func(t *testing.T) { t.Parallel(); testRequestBodyLimit(t, env) })
}

type admissionEnv struct {
	cluster *framework.Cluster
	server  *framework.Server
}

// setup returns a context bounded by the test and a fresh namespace.
func (e *admissionEnv) setup(t *testing.T, prefix string) (context.Context, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx, e.cluster.CreateNamespace(t, prefix)
}

// userJobs is the Job clientset of user, authenticated by a client
// certificate of the cluster's CA and authorized by the cluster's RBAC.
func (e *admissionEnv) userJobs(t *testing.T, user string) clientset.Interface {
	t.Helper()
	c, err := clientset.NewForConfig(e.server.ClientConfig(t, user))
	require.NoError(t, err)
	return c
}

// eventually polls cond every 200 ms for up to a minute (informers,
// RBAC and jobserver's authorization cache all lag a little).
func eventually(ctx context.Context, t *testing.T, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, cond), what)
}

// testResourceQuota: a ResourceQuota of two Jobs lets two be created and
// refuses the third with 403 and the quota message; each admitted Job is
// charged to the quota's status.used. With no kube-controller-manager
// here, the test writes the status the resource quota controller would
// (hard, and nothing used yet), as upstream's integration tests do.
func testResourceQuota(t *testing.T, env *admissionEnv) {
	ctx, ns := env.setup(t, "quota")
	kube := env.cluster.Kube
	jobs := env.server.Clientset(t).BatchV1().Jobs(ns)
	name := quota.ResourceName()
	require.Equal(t, corev1.ResourceName("count/jobs.batch.jobserver.dev"), name)

	hard := corev1.ResourceList{name: resource.MustParse("2")}
	rq, err := kube.CoreV1().ResourceQuotas(ns).Create(ctx, &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "jobs"},
		Spec:       corev1.ResourceQuotaSpec{Hard: hard},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	rq.Status = corev1.ResourceQuotaStatus{Hard: hard, Used: corev1.ResourceList{name: resource.MustParse("0")}}
	_, err = kube.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, rq, metav1.UpdateOptions{})
	require.NoError(t, err)

	used := func() int64 {
		rq, err := kube.CoreV1().ResourceQuotas(ns).Get(ctx, "jobs", metav1.GetOptions{})
		require.NoError(t, err)
		q := rq.Status.Used[name]
		return q.Value()
	}
	// The first Job: until jobserver's informer has the quota, a Job is
	// admitted uncharged; such a Job is deleted and created again.
	eventually(ctx, t, "the first Job is charged to the quota", func(ctx context.Context) (bool, error) {
		job, err := jobs.Create(ctx, newJob("first"), metav1.CreateOptions{})
		if err != nil {
			return false, err
		}
		if used() == 1 {
			return true, nil
		}
		return false, jobs.Delete(ctx, job.Name, metav1.DeleteOptions{})
	})
	_, err = jobs.Create(ctx, newJob("second"), metav1.CreateOptions{})
	require.NoError(t, err)
	assert.EqualValues(t, 2, used(), "status.used after the second Job")

	_, err = jobs.Create(ctx, newJob("third"), metav1.CreateOptions{})
	require.Error(t, err)
	require.True(t, apierrors.IsForbidden(err), "want 403 Forbidden, got %v", err)
	assert.Contains(t, err.Error(), `jobs.batch.jobserver.dev "third" is forbidden: exceeded quota: jobs, `+
		`requested: count/jobs.batch.jobserver.dev=1, used: count/jobs.batch.jobserver.dev=2, limited: count/jobs.batch.jobserver.dev=2`)
	assert.EqualValues(t, 2, used(), "status.used after the refused Job")

	// Updates are not counted.
	second, err := jobs.Get(ctx, "second", metav1.GetOptions{})
	require.NoError(t, err)
	second.Labels = map[string]string{"updated": "true"}
	_, err = jobs.Update(ctx, second, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.EqualValues(t, 2, used(), "status.used after an update")
}

// testValidatingAdmissionPolicy: a ValidatingAdmissionPolicy and binding in
// the cluster that match batch.jobserver.dev jobs deny a Job that breaks
// the rule with the policy's message, and allow one that keeps it.
func testValidatingAdmissionPolicy(t *testing.T, env *admissionEnv) {
	ctx, ns := env.setup(t, "vap")
	kube := env.cluster.Kube
	jobs := env.server.Clientset(t).BatchV1().Jobs(ns)
	policyName := "jobs-parallelism-" + ns
	const message = "parallelism must be at most 5"

	_, err := kube.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: policyName},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
						Rule: admissionregistrationv1.Rule{
							APIGroups:   []string{batchv1.GroupName},
							APIVersions: []string{"v1"},
							Resources:   []string{"jobs"},
						},
					},
				}},
			},
			Validations: []admissionregistrationv1.Validation{{
				Expression: "object.spec.parallelism <= 5",
				Message:    message,
			}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = kube.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(context.Background(), policyName, metav1.DeleteOptions{})
	})
	_, err = kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: policyName},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        policyName,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			// Only this test's namespace: the other tests run alongside.
			MatchResources: &admissionregistrationv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}},
			},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(context.Background(), policyName, metav1.DeleteOptions{})
	})

	wide := newJob("wide")
	wide.Spec.Parallelism = ptr.To[int32](10)
	var denied error
	eventually(ctx, t, "jobserver enforces the policy", func(ctx context.Context) (bool, error) {
		_, denied = jobs.Create(ctx, wide, metav1.CreateOptions{})
		if denied == nil {
			// Admitted before jobserver's informers had the policy.
			return false, jobs.Delete(ctx, wide.Name, metav1.DeleteOptions{})
		}
		return true, nil
	})
	require.True(t, apierrors.IsInvalid(denied), "want 422 Invalid (the policy's default reason), got %v", denied)
	assert.Contains(t, denied.Error(), fmt.Sprintf(
		"ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s", policyName, policyName, message))

	narrow := newJob("narrow")
	narrow.Spec.Parallelism = ptr.To[int32](5)
	_, err = jobs.Create(ctx, narrow, metav1.CreateOptions{})
	require.NoError(t, err, "a Job within the policy")
}

// testOwnerReferencesPermissions: as kube-apiserver's
// OwnerReferencesPermissionEnforcement, setting blockOwnerDeletion on a
// Job's owner reference needs update on the owner's finalizers, and
// changing a Job's owner references needs delete on the Job.
func testOwnerReferencesPermissions(t *testing.T, env *admissionEnv) {
	ctx, ns := env.setup(t, "ownerrefs")
	kube := env.cluster.Kube
	owner, err := kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "owner"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	ref := func(block bool) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID, BlockOwnerDeletion: ptr.To(block)}
	}
	jobRule := rbacv1.PolicyRule{APIGroups: []string{batchv1.GroupName}, Resources: []string{"jobs"}}

	t.Run("blockOwnerDeletion", func(t *testing.T) {
		const user = "ownerrefs-blocker"
		rule := jobRule
		rule.Verbs = []string{"create", "get", "delete"}
		grant(ctx, t, kube, ns, user, rule)
		jobs := env.userJobs(t, user).BatchV1().Jobs(ns)
		// The Role is in force once a plain Job can be created.
		eventually(ctx, t, "the user may create Jobs", func(ctx context.Context) (bool, error) {
			_, err := jobs.Create(ctx, newJob("plain"), metav1.CreateOptions{})
			return err == nil, nil
		})

		// A non-blocking reference needs nothing more on create.
		nonBlocking := newJob("non-blocking")
		nonBlocking.OwnerReferences = []metav1.OwnerReference{ref(false)}
		_, err := jobs.Create(ctx, nonBlocking, metav1.CreateOptions{})
		require.NoError(t, err)

		blocking := newJob("blocking")
		blocking.OwnerReferences = []metav1.OwnerReference{ref(true)}
		_, err = jobs.Create(ctx, blocking, metav1.CreateOptions{})
		require.Error(t, err)
		require.True(t, apierrors.IsForbidden(err), "want 403 Forbidden, got %v", err)
		assert.Contains(t, err.Error(), `jobs.batch.jobserver.dev "blocking" is forbidden: `+
			`cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on`)

		// An owner kind the cluster does not serve cannot be mapped to a
		// resource: refused, whatever the user may do.
		unknown := newJob("unknown-owner")
		unknown.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: "example.com/v1", Kind: "Nothing", Name: "x", UID: "1234", BlockOwnerDeletion: ptr.To(true),
		}}
		_, err = jobs.Create(ctx, unknown, metav1.CreateOptions{})
		require.True(t, apierrors.IsForbidden(err), "want 403 Forbidden, got %v", err)
		assert.Contains(t, err.Error(), "cannot set blockOwnerDeletion in this case because cannot find RESTMapping for APIVersion example.com/v1 Kind Nothing")

		// Granted update on configmaps/finalizers, the same Job is created
		// (once jobserver's authorization cache forgets the denial).
		grant(ctx, t, kube, ns, user+"-finalizers", rbacv1.PolicyRule{
			APIGroups: []string{""}, Resources: []string{"configmaps/finalizers"}, Verbs: []string{"update"}, ResourceNames: []string{owner.Name},
		}, user)
		eventually(ctx, t, "the Job with blockOwnerDeletion is created once the user may update the owner's finalizers",
			func(ctx context.Context) (bool, error) {
				_, err := jobs.Create(ctx, blocking, metav1.CreateOptions{})
				if err != nil && !apierrors.IsForbidden(err) {
					return false, err
				}
				return err == nil, nil
			})
	})

	t.Run("changing owner references needs delete", func(t *testing.T) {
		const user = "ownerrefs-updater"
		rule := jobRule
		rule.Verbs = []string{"create", "get", "update"}
		grant(ctx, t, kube, ns, user, rule)
		jobs := env.userJobs(t, user).BatchV1().Jobs(ns)
		var job *batchv1.Job
		eventually(ctx, t, "the user may create Jobs", func(ctx context.Context) (bool, error) {
			var err error
			job, err = jobs.Create(ctx, newJob("orphan"), metav1.CreateOptions{})
			return err == nil, nil
		})

		// Labels need no delete; owner references do.
		job.Labels = map[string]string{"touched": "true"}
		job, err := jobs.Update(ctx, job, metav1.UpdateOptions{})
		require.NoError(t, err)
		job.OwnerReferences = []metav1.OwnerReference{ref(false)}
		_, err = jobs.Update(ctx, job, metav1.UpdateOptions{})
		require.Error(t, err)
		require.True(t, apierrors.IsForbidden(err), "want 403 Forbidden, got %v", err)
		assert.Contains(t, err.Error(), `jobs.batch.jobserver.dev "orphan" is forbidden: cannot set an ownerRef on a resource you can't delete`)
	})
}

// grant binds a Role named name with rule to user (default: name).
func grant(ctx context.Context, t *testing.T, kube kubernetes.Interface, ns, name string, rule rbacv1.PolicyRule, user ...string) {
	t.Helper()
	subject := name
	if len(user) > 0 {
		subject = user[0]
	}
	_, err := kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      []rbacv1.PolicyRule{rule},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: subject}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// testRequestBodyLimit: the generic apiserver reads at most 3 MiB of a
// request body; a larger one is refused with 413 before decoding. A Job
// that fits in the body but not in one etcd request is refused by etcd.
func testRequestBodyLimit(t *testing.T, env *admissionEnv) {
	ctx, ns := env.setup(t, "limits")
	kc, err := kubernetes.NewForConfig(env.server.AdminConfig)
	require.NoError(t, err)
	body := `{"apiVersion":"batch.jobserver.dev/v1","kind":"Job","metadata":{"name":"huge","annotations":{"a":"` +
		strings.Repeat("x", 4<<20) + `"}}}`
	var status int
	err = kc.Discovery().RESTClient().Post().
		AbsPath("/apis/batch.jobserver.dev/v1/namespaces/"+ns+"/jobs").
		SetHeader("Content-Type", "application/json").
		Body([]byte(body)).Do(ctx).StatusCode(&status).Error()
	require.Error(t, err)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.True(t, apierrors.IsRequestEntityTooLargeError(err), "want 413, got %v", err)
	assert.Contains(t, err.Error(), "Request entity too large: limit is 3145728")

	// Within the body limit but above etcd's default request limit
	// (--max-request-bytes, 1.5 MiB): etcd refuses the write, and the
	// generic apiserver answers 500 with etcd's message. (It retries once
	// without managedFields, on the object the first try prepared; with a
	// fixed name that retry fails validation on the first try's
	// controller-uid labels instead, a 422, exactly as kube-apiserver
	// v1.37.2 answers for a batch/v1 Job. A generated name makes each try
	// start from a copy.)
	big := newJob("")
	big.GenerateName = "big-"
	big.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "BIG", Value: strings.Repeat("x", 1700<<10)}}
	_, err = env.server.Clientset(t).BatchV1().Jobs(ns).Create(ctx, big, metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsInternalError(err), "want 500, got %v", err)
	assert.Contains(t, err.Error(), "etcdserver: request is too large")
}
