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

package main

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testEpoch is the fixed time of the test's images (2023-11-14T22:13:20Z):
// not 0, so a header left at its zero time would show.
const testEpoch = 1700000000

// TestImage builds the image twice from one binary and checks that both
// have the same digest and bytes, then reads it back from the OCI layout and
// the tarball and runs its entrypoint.
func TestImage(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("the image's binary is for linux; this is %s", runtime.GOOS)
	}
	arch := runtime.GOARCH
	if _, ok := elfMachines[arch]; !ok {
		t.Skipf("no image for %s", arch)
	}
	bin := buildJobserver(t, arch)

	opts := func(dir string) options {
		return options{
			binary:     bin,
			version:    "v1.2.3-test",
			revision:   "0123456789abcdef0123456789abcdef01234567",
			source:     "https://github.com/jobserver-dev/jobserver",
			repository: "ghcr.io/jobserver-dev/jobserver",
			arch:       arch,
			epoch:      testEpoch,
			ociLayout:  filepath.Join(dir, "oci"),
			tarball:    filepath.Join(dir, "jobserver.tar"),
		}
	}
	first, second := opts(t.TempDir()), opts(t.TempDir())
	digest, err := run(first, io.Discard)
	require.NoError(t, err)
	again, err := run(second, io.Discard)
	require.NoError(t, err)
	require.Equal(t, digest, again, "two builds from the same binary and options")
	assert.Equal(t, fileSHA256(t, first.tarball), fileSHA256(t, second.tarball), "the two tarballs")
	for _, f := range []string{"index.json", "oci-layout"} {
		assert.Equal(t, fileSHA256(t, filepath.Join(first.ociLayout, f)), fileSHA256(t, filepath.Join(second.ociLayout, f)), f)
	}

	// The OCI layout: one image, named and with its platform in index.json.
	idx, err := layout.ImageIndexFromPath(first.ociLayout)
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 1)
	desc := im.Manifests[0]
	assert.Equal(t, digest, desc.Digest)
	assert.Equal(t, types.OCIManifestSchema1, desc.MediaType)
	assert.Equal(t, map[string]string{refNameAnnotation: "ghcr.io/jobserver-dev/jobserver:v1.2.3-test"}, desc.Annotations)
	require.NotNil(t, desc.Platform)
	assert.Equal(t, v1.Platform{OS: "linux", Architecture: arch}, *desc.Platform)

	img, err := idx.Image(desc.Digest)
	require.NoError(t, err)
	got, err := img.Digest()
	require.NoError(t, err)
	assert.Equal(t, digest, got)
	m, err := img.Manifest()
	require.NoError(t, err)
	assert.Equal(t, types.OCIManifestSchema1, m.MediaType)
	assert.Equal(t, types.OCIConfigJSON, m.Config.MediaType)
	require.Len(t, m.Layers, 1)
	assert.Equal(t, types.OCILayer, m.Layers[0].MediaType)

	created := time.Unix(testEpoch, 0).UTC()
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, "linux", cf.OS)
	assert.Equal(t, arch, cf.Architecture)
	assert.True(t, cf.Created.Equal(created), "created %s", cf.Created)
	assert.Equal(t, []string{"/usr/local/bin/jobserver"}, cf.Config.Entrypoint)
	assert.Empty(t, cf.Config.Cmd)
	assert.Equal(t, "65532:65532", cf.Config.User)
	assert.Equal(t, "/var/lib/jobserver", cf.Config.WorkingDir)
	assert.Equal(t, map[string]string{
		"org.opencontainers.image.source":   "https://github.com/jobserver-dev/jobserver",
		"org.opencontainers.image.version":  "v1.2.3-test",
		"org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
	}, cf.Config.Labels)
	require.Len(t, cf.History, 1)
	assert.True(t, cf.History[0].Created.Equal(created), "history created %s", cf.History[0].Created)

	// The layer: its headers, then its files, extracted.
	root := t.TempDir()
	layers, err := img.Layers()
	require.NoError(t, err)
	var names []string
	for _, l := range layers {
		names = append(names, extract(t, l, root, created)...)
	}
	assert.Equal(t, []string{
		"etc/", "etc/group", "etc/passwd", "tmp/",
		"usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/jobserver",
		"var/", "var/lib/", "var/lib/jobserver/",
	}, names)
	passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	require.NoError(t, err)
	assert.Contains(t, string(passwd), "\nnonroot:x:65532:65532:")
	group, err := os.ReadFile(filepath.Join(root, "etc/group"))
	require.NoError(t, err)
	assert.Contains(t, string(group), "\nnonroot:x:65532:\n")

	// The entrypoint runs: the binary is static, nothing else is needed.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "usr/local/bin/jobserver"), "--help")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "--etcd-servers")
	assert.Contains(t, string(out), "--embedded-etcd-data-dir")

	// The tarball (docker load's format) holds no manifest: an image read
	// from it has the same config and layer, and a manifest with Docker
	// media types, the same for both builds.
	tag, err := name.NewTag("ghcr.io/jobserver-dev/jobserver:v1.2.3-test")
	require.NoError(t, err)
	fromTar, err := tarball.ImageFromPath(first.tarball, &tag)
	require.NoError(t, err)
	fromTarAgain, err := tarball.ImageFromPath(second.tarball, &tag)
	require.NoError(t, err)
	tarDigest, err := fromTar.Digest()
	require.NoError(t, err)
	tarDigestAgain, err := fromTarAgain.Digest()
	require.NoError(t, err)
	assert.Equal(t, tarDigest, tarDigestAgain, "digest of the tarballs' images")
	wantID, err := img.ConfigName()
	require.NoError(t, err)
	gotID, err := fromTar.ConfigName()
	require.NoError(t, err)
	assert.Equal(t, wantID, gotID, "image ID (config digest) of the tarball")
	tm, err := fromTar.Manifest()
	require.NoError(t, err)
	require.Len(t, tm.Layers, 1)
	assert.Equal(t, m.Layers[0].Digest, tm.Layers[0].Digest, "layer digest of the tarball")
	assert.Equal(t, m.Layers[0].Size, tm.Layers[0].Size, "layer size of the tarball")
}

// TestRefusesDynamicBinary checks that a binary needing a loader (one not in
// the image) is refused.
func TestRefusesDynamicBinary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("needs a linux binary; this is %s", runtime.GOOS)
	}
	if _, ok := elfMachines[runtime.GOARCH]; !ok {
		t.Skipf("no image for %s", runtime.GOARCH)
	}
	bin, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Skipf("no /bin/sh: %v", err)
	}
	err = checkBinary(bin, runtime.GOARCH)
	if err == nil {
		t.Skip("/bin/sh is static here")
	}
	assert.ErrorContains(t, err, "dynamically linked")
	assert.ErrorContains(t, checkBinary([]byte("#!/bin/sh\n"), runtime.GOARCH), "not an ELF binary")
}

// buildJobserver builds cmd/jobserver for linux/arch as make image does:
// static, without paths or a build ID.
func buildJobserver(t *testing.T, arch string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "jobserver")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-buildid= -s -w", "-o", bin,
		"github.com/jobserver-dev/jobserver/cmd/jobserver")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// extract writes the files of layer l under root and returns the names of
// its entries in order, checking every header: time created, owned by root
// but for the nonroot directory, the modes the image needs.
func extract(t *testing.T, l v1.Layer, root string, created time.Time) []string {
	t.Helper()
	rc, err := l.Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	var names []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		names = append(names, h.Name)
		assert.True(t, h.ModTime.Equal(created), "%s: mtime %s, want %s", h.Name, h.ModTime.UTC(), created)
		assert.Empty(t, h.PAXRecords, h.Name)
		owner := 0
		if h.Name == "var/lib/jobserver/" {
			owner = 65532
		}
		assert.Equal(t, owner, h.Uid, "%s: uid", h.Name)
		assert.Equal(t, owner, h.Gid, "%s: gid", h.Name)
		wantMode := map[string]int64{
			"tmp/":                    0o1777,
			"usr/local/bin/jobserver": 0o755,
			"var/lib/jobserver/":      0o755,
			"etc/passwd":              0o644,
			"etc/group":               0o644,
		}
		if want, ok := wantMode[h.Name]; ok {
			assert.Equal(t, want, h.Mode, "%s: mode %o", h.Name, h.Mode)
		}

		rel := strings.TrimSuffix(h.Name, "/")
		require.True(t, filepath.IsLocal(rel), "%s: not a local path", h.Name)
		path := filepath.Join(root, filepath.FromSlash(rel))
		switch h.Typeflag {
		case tar.TypeDir:
			require.NoError(t, os.MkdirAll(path, 0o755))
		case tar.TypeReg:
			f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, fs.FileMode(h.Mode).Perm())
			require.NoError(t, err)
			_, err = io.Copy(f, tr)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		default:
			t.Errorf("%s: unexpected type %q", h.Name, h.Typeflag)
		}
	}
	return names
}

// fileSHA256 returns the SHA-256 of the file at path.
func fileSHA256(t *testing.T, path string) [sha256.Size]byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return sum
}
