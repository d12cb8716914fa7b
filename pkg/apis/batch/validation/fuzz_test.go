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
	"fmt"
	"math/rand"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/randfill"

	"github.com/jobserver-dev/jobserver/pkg/apis/batch"
	"github.com/jobserver-dev/jobserver/pkg/apis/batch/names"
)

// richJob sets as many pointers as a Job can have, so that nil-ing them one
// by one reaches every branch that dereferences one.
func richJob() *batch.Job {
	job := indexedJobWith(10, 10, func(j *batch.Job) {
		j.Spec.ActiveDeadlineSeconds = ptr.To[int64](100)
		j.Spec.TTLSecondsAfterFinished = ptr.To[int32](100)
		j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
		j.Spec.MaxFailedIndexes = ptr.To[int32](2)
		j.Spec.ManagedBy = ptr.To(names.JobControllerName)
		j.Spec.PodReplacementPolicy = ptr.To(batch.Failed)
		j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
		j.Spec.PodFailurePolicy = &batch.PodFailurePolicy{Rules: []batch.PodFailurePolicyRule{
			{Action: batch.PodFailurePolicyActionFailIndex, OnExitCodes: &batch.PodFailurePolicyOnExitCodesRequirement{
				ContainerName: ptr.To("main"), Operator: batch.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1},
			}},
			ignoreDisruptionRule(),
		}}
		j.Spec.SuccessPolicy = &batch.SuccessPolicy{Rules: []batch.SuccessPolicyRule{
			{SucceededIndexes: ptr.To("0-3"), SucceededCount: ptr.To[int32](2)},
		}}
		spec := &j.Spec.Template.Spec
		size := resource.MustParse("1Gi")
		spec.Volumes = []corev1.Volume{
			{Name: "a", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &size, Mode: ptr.To[int32](0o755)}}},
			{Name: "b", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x", Type: ptr.To(corev1.HostPathDirectory)}}},
			{Name: "c", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: ptr.To[int32](0o644), Items: []corev1.KeyToPath{{Key: "k", Path: "p", Mode: ptr.To[int32](0o600)}}}}},
			{Name: "d", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{DefaultMode: ptr.To[int32](0o644), Items: []corev1.DownwardAPIVolumeFile{
				{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}},
				{Path: "cpu", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "main", Resource: "limits.cpu"}},
			}}}},
			{Name: "e", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "pvc"}}},
			{Name: "f", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{DefaultMode: ptr.To[int32](0o644), DefaultUser: ptr.To[int64](1),
				Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: ptr.To[int64](3600), Path: "t", User: ptr.To[int64](1)}},
					{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Optional: ptr.To(true),
						Items: []corev1.KeyToPath{{Key: "k", Path: "s", Mode: ptr.To[int32](0o600), User: ptr.To[int64](1)}}}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, Items: []corev1.KeyToPath{{Key: "k", Path: "c"}}}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "d",
						FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}, Mode: ptr.To[int32](0o600), User: ptr.To[int64](1)}}}},
					{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{SignerName: ptr.To("example.com/s"), LabelSelector: &metav1.LabelSelector{},
						Optional: ptr.To(true), Path: "ctb", User: ptr.To[int64](1)}},
					{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Name: ptr.To("ctb"), Path: "ctb2"}},
					{PodCertificate: &corev1.PodCertificateProjection{SignerName: "example.com/s", KeyType: "RSA3072", KeyPath: "k.pem",
						MaxExpirationSeconds: ptr.To[int32](3600), User: ptr.To[int64](1)}},
				}}}},
			{Name: "g", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "csi.example.com", ReadOnly: ptr.To(true),
				FSType: ptr.To("ext4"), NodePublishSecretRef: &corev1.LocalObjectReference{Name: "s"}}}},
			{Name: "h", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Selector: &metav1.LabelSelector{}, Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
					StorageClassName: ptr.To("fast"), VolumeMode: ptr.To(corev1.PersistentVolumeBlock), VolumeAttributesClassName: ptr.To("gold"),
				}}}}},
			{Name: "i", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "img:1", PullPolicy: corev1.PullNever}}},
			{Name: "j", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/p"}}},
		}
		spec.Containers[0].Env = []corev1.EnvVar{
			{Name: "A", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
			{Name: "B", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k", Optional: ptr.To(true)}}},
			{Name: "C", ValueFrom: &corev1.EnvVarSource{FileKeyRef: &corev1.FileKeySelector{VolumeName: "a", Path: "p", Key: "K"}}},
		}
		spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}}}
		spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "a", MountPath: "/a"}}
		spec.Containers[0].VolumeDevices = []corev1.VolumeDevice{{Name: "e", DevicePath: "/dev/e"}}
		spec.Containers[0].Resources = withResources("1")
		spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyNever)
		spec.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{{
			Action:    corev1.ContainerRestartRuleActionRestart,
			ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: corev1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{1}},
		}}
		spec.InitContainers = []corev1.Container{{
			Name: "sidecar", Image: "busybox", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
			StartupProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, SuccessThreshold: 1,
				TerminationGracePeriodSeconds: ptr.To[int64](5)},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000, Service: ptr.To("s")}}},
			Lifecycle: &corev1.Lifecycle{
				PostStart: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP,
					HTTPHeaders: []corev1.HTTPHeader{{Name: "X-A", Value: "b"}}}},
				PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 1}},
			},
		}}
		spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}},
			SuccessThreshold: 1, TerminationGracePeriodSeconds: ptr.To[int64](5)}
		spec.TerminationGracePeriodSeconds = ptr.To[int64](30)
		spec.Affinity = &corev1.Affinity{
			NodeAffinity: nodeAffinity("a"),
			PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
				Weight:          1,
				PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{}, NamespaceSelector: &metav1.LabelSelector{}, TopologyKey: "k"},
			}}},
		}
		spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](1)}}
		spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"10.0.0.10"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("2")}}}
		spec.ActiveDeadlineSeconds = ptr.To[int64](10)
		spec.PreemptionPolicy = ptr.To(corev1.PreemptNever)
		spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "k", WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{}}}
		spec.HostUsers = ptr.To(true)
		spec.SecurityContext = &corev1.PodSecurityContext{
			RunAsUser: ptr.To[int64](1), RunAsGroup: ptr.To[int64](1), FSGroup: ptr.To[int64](1),
			FSGroupChangePolicy: ptr.To(corev1.FSGroupChangeAlways), SupplementalGroupsPolicy: ptr.To(corev1.SupplementalGroupsPolicyMerge),
			SELinuxChangePolicy: ptr.To(corev1.SELinuxChangePolicyRecursive),
			Sysctls:             []corev1.Sysctl{{Name: "kernel.shm_rmid_forced", Value: "1"}},
			SeccompProfile:      &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("p.json")},
			AppArmorProfile:     &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: ptr.To("p")},
			WindowsOptions: &corev1.WindowsSecurityContextOptions{GMSACredentialSpecName: ptr.To("g"), GMSACredentialSpec: ptr.To("{}"),
				RunAsUserName: ptr.To("u"), HostProcess: ptr.To(false)},
		}
		spec.Containers[0].SecurityContext = &corev1.SecurityContext{
			RunAsUser: ptr.To[int64](1), RunAsGroup: ptr.To[int64](1), ProcMount: ptr.To(corev1.DefaultProcMount),
			AllowPrivilegeEscalation: ptr.To(false), Privileged: ptr.To(false), Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}},
			SeccompProfile:  &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault},
			WindowsOptions:  &corev1.WindowsSecurityContextOptions{RunAsUserName: ptr.To(`d\u`)},
		}
	})
	job.Status = batch.JobStatus{
		Conditions:              conds(batch.JobSuccessCriteriaMet),
		StartTime:               &startTime,
		CompletionTime:          &laterTime,
		Active:                  1,
		Ready:                   ptr.To[int32](1),
		Terminating:             ptr.To[int32](0),
		CompletedIndexes:        "0-2",
		FailedIndexes:           ptr.To("3"),
		UncountedTerminatedPods: &batch.UncountedTerminatedPods{Succeeded: []types.UID{"a"}},
	}
	return job
}

// countPointers counts the non-nil pointers reachable from v.
func countPointers(v reflect.Value) int {
	n := 0
	walkPointers(v, func(reflect.Value) bool { n++; return false })
	return n
}

// walkPointers calls visit for each settable non-nil pointer reachable from
// v, depth first; it stops when visit returns true.
func walkPointers(v reflect.Value, visit func(reflect.Value) bool) bool {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return false
		}
		if v.CanSet() && visit(v) {
			return true
		}
		return walkPointers(v.Elem(), visit)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() && walkPointers(v.Field(i), visit) {
				return true
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if walkPointers(v.Index(i), visit) {
				return true
			}
		}
	}
	return false
}

// withNilPointer returns a copy of job with its k-th pointer set to nil.
func withNilPointer(job *batch.Job, k int) *batch.Job {
	c := job.DeepCopy()
	i := 0
	walkPointers(reflect.ValueOf(c).Elem(), func(p reflect.Value) bool {
		if i == k {
			p.Set(reflect.Zero(p.Type()))
			return true
		}
		i++
		return false
	})
	return c
}

// exerciseAll runs every exported function on the pair; none may panic.
func exerciseAll(t *testing.T, job, oldJob *batch.Job) {
	t.Helper()
	require.NotPanics(t, func() {
		ValidateJobCreate(job, JobCreateValidationOptions(job))
		ValidateJobUpdate(job, oldJob, JobUpdateValidationOptions(job, oldJob))
		ValidateJobUpdate(job, oldJob, JobValidationOptions{AllowMutableSchedulingDirectives: true, AllowMutablePodResources: true})
		ValidateJobUpdate(oldJob, job, JobUpdateValidationOptions(oldJob, job))
		ValidateJobUpdateStatus(job, oldJob, StatusValidationOptions(job, oldJob))
		ValidateJobUpdateStatus(oldJob, job, StatusValidationOptions(oldJob, job))
		allOn := JobStatusValidationOptions{}
		rv := reflect.ValueOf(&allOn).Elem()
		for i := 0; i < rv.NumField(); i++ {
			rv.Field(i).SetBool(true)
		}
		ValidateJobUpdateStatus(job, oldJob, allOn)
		WarningsForJob(job, nil)
		WarningsForJob(job, oldJob)
		IsJobFinished(job)
	})
}

// TestNoPanicOnNilPointers validates the rich Job with each of its pointers
// set to nil in turn, as the new and as the old object, and then with
// random sets of them nil.
func TestNoPanicOnNilPointers(t *testing.T) {
	rich := richJob()
	require.Empty(t, ValidateJobCreate(rich, JobCreateValidationOptions(rich)), "the rich Job must start valid")
	n := countPointers(reflect.ValueOf(rich).Elem())
	require.Greater(t, n, 60, "the rich Job should have many pointers")

	for k := 0; k < n; k++ {
		job := withNilPointer(rich, k)
		exerciseAll(t, job, rich)
		exerciseAll(t, rich, job)
	}

	r := rand.New(rand.NewSource(1))
	for iter := 0; iter < 300; iter++ {
		job := rich.DeepCopy()
		for i := 0; i < 1+r.Intn(10); i++ {
			job = withNilPointer(job, r.Intn(countPointers(reflect.ValueOf(job).Elem())+1))
		}
		exerciseAll(t, job, withNilPointer(rich, r.Intn(n)))
	}
}

// TestNoPanicOnRandomJobs validates randomly filled Jobs: random values,
// half of the pointers nil, short lists, and enum fields biased to known
// values so the validation goes deep.
func TestNoPanicOnRandomJobs(t *testing.T) {
	pick := func(c randfill.Continue, values ...string) string {
		if c.Intn(4) == 0 {
			return c.String(5)
		}
		return values[c.Intn(len(values))]
	}
	filler := randfill.NewWithSeed(42).NilChance(0.5).NumElements(0, 3).MaxDepth(12).
		Funcs(
			func(q *resource.Quantity, c randfill.Continue) {
				quantities := []string{"0", "1", "-1", "100m", "1.5", "2Mi", "4Mi"}
				*q = resource.MustParse(quantities[c.Intn(len(quantities))])
			},
			func(m *batch.CompletionMode, c randfill.Continue) {
				*m = batch.CompletionMode(pick(c, string(batch.IndexedCompletion), string(batch.NonIndexedCompletion)))
			},
			func(p *corev1.RestartPolicy, c randfill.Continue) {
				*p = corev1.RestartPolicy(pick(c, "Never", "OnFailure", "Always", ""))
			},
			func(a *batch.PodFailurePolicyAction, c randfill.Continue) {
				*a = batch.PodFailurePolicyAction(pick(c, "FailJob", "FailIndex", "Ignore", "Count", ""))
			},
			func(s *corev1.ConditionStatus, c randfill.Continue) {
				*s = corev1.ConditionStatus(pick(c, "True", "False", "Unknown"))
			},
			func(tp *batch.JobConditionType, c randfill.Continue) {
				*tp = batch.JobConditionType(pick(c, "Complete", "Failed", "FailureTarget", "SuccessCriteriaMet", "Suspended"))
			},
			func(v *int32, c randfill.Continue) {
				*v = int32(c.Intn(30) - 5)
			},
			func(s *corev1.PodSpec, c randfill.Continue) {
				c.FillNoCustom(s)
				// The template may be empty or rich, never deeper than
				// needed: two containers at most.
				if len(s.Containers) > 2 {
					s.Containers = s.Containers[:2]
				}
			},
		)
	for i := 0; i < 500; i++ {
		var job, oldJob batch.Job
		filler.Fill(&job.Spec)
		filler.Fill(&job.Status)
		filler.Fill(&oldJob.Spec)
		filler.Fill(&oldJob.Status)
		job.ObjectMeta = metav1.ObjectMeta{Name: testName, Namespace: testNamespace, UID: testUID}
		oldJob.ObjectMeta = job.ObjectMeta
		// Index strings that often parse.
		job.Status.CompletedIndexes = fmt.Sprintf("%d-%d", i%4, i%4+i%3+1)
		t.Run(fmt.Sprint(i), func(t *testing.T) { exerciseAll(t, &job, &oldJob) })
	}
}
