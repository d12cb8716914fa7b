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

// Command image writes an OCI image of jobserver without a container
// runtime (make image): no base image and one layer holding a statically
// built jobserver binary, /etc/passwd and /etc/group with the user and group
// nonroot (65532), the empty directory /var/lib/jobserver owned by 65532, and
// /tmp. Every timestamp is --source-date-epoch and the layer's entries are
// sorted, so the same binary and flags give the same image digest.
//
// It writes the image as an OCI image layout (--oci-layout) and as a tarball
// that docker load reads (--tarball), and prints the digest of the image's
// manifest: the digest a registry shows after crane push of the layout. The
// tarball's format (docker save) holds no manifest, only the config and the
// layer, so an image read from it has the same image ID (config digest) and
// layer, but a manifest with Docker media types and another digest.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/spf13/pflag"
)

const (
	// binaryPath is the image's entrypoint.
	binaryPath = "/usr/local/bin/jobserver"
	// dataDir is the working directory, owned by nonroot, so that jobserver
	// can create the embedded etcd's default data directory in it
	// (/var/lib/jobserver/etcd, see pkg/apiserver/options.go).
	dataDir = "/var/lib/jobserver"
	// nonroot is the UID and GID the image runs as; the deploy manifests
	// (artifacts/deploy/base/deployment.yaml) use the same.
	nonroot = 65532

	// refNameAnnotation names the image in the layout's index.json, as
	// crane pull does.
	refNameAnnotation = "org.opencontainers.image.ref.name"
)

// elfMachines maps the architectures the image can be built for to the ELF
// machine of their Go binaries.
var elfMachines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
	"riscv64": elf.EM_RISCV,
}

// options are the inputs of the image; the same options and the same binary
// give the same digest.
type options struct {
	binary     string // a statically linked jobserver for linux/arch
	version    string // image tag and org.opencontainers.image.version
	revision   string // org.opencontainers.image.revision (a commit), may be empty
	source     string // org.opencontainers.image.source
	repository string // the repository of the tarball's tag and of the layout's ref name
	arch       string // GOARCH of the binary
	epoch      int64  // every timestamp, in seconds since 1970 (SOURCE_DATE_EPOCH)
	ociLayout  string // directory of the OCI image layout; must not exist or be empty
	tarball    string // file of the docker load tarball
}

func main() {
	var o options
	fs := pflag.NewFlagSet("image", pflag.ContinueOnError)
	fs.StringVar(&o.binary, "binary", "", "statically linked jobserver binary for linux/--arch (required)")
	fs.StringVar(&o.version, "version", "v0.0.0-dev", "image version: the tag and the label org.opencontainers.image.version")
	fs.StringVar(&o.revision, "revision", "", "commit of the source, the label org.opencontainers.image.revision (omitted when empty)")
	fs.StringVar(&o.source, "source", "https://github.com/jobserver-dev/jobserver", "the label org.opencontainers.image.source")
	fs.StringVar(&o.repository, "repository", "ghcr.io/jobserver-dev/jobserver", "repository of the image's name (REPOSITORY:VERSION) in the tarball and the layout")
	fs.StringVar(&o.arch, "arch", "amd64", "architecture of the binary and the image (a GOARCH)")
	fs.Int64Var(&o.epoch, "source-date-epoch", 0, "time of every file and of the image, in seconds since 1970 (e.g. git log -1 --format=%ct)")
	fs.StringVar(&o.ociLayout, "oci-layout", "", "write an OCI image layout to this directory (must not exist or be empty)")
	fs.StringVar(&o.tarball, "tarball", "", "write a tarball that docker load reads to this file")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "image: unexpected arguments: %v\n", fs.Args())
		os.Exit(2)
	}
	digest, err := run(o, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(digest)
}

// run builds the image and writes it where o says, saying so on log; it
// returns the digest of its manifest.
func run(o options, log io.Writer) (v1.Hash, error) {
	if o.ociLayout == "" && o.tarball == "" {
		return v1.Hash{}, errors.New("nothing to write: give --oci-layout, --tarball or both")
	}
	img, tag, err := build(o)
	if err != nil {
		return v1.Hash{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	id, err := img.ConfigName()
	if err != nil {
		return v1.Hash{}, err
	}
	if o.ociLayout != "" {
		if err := writeLayout(o.ociLayout, img, tag, o.arch); err != nil {
			return v1.Hash{}, fmt.Errorf("OCI layout %s: %w", o.ociLayout, err)
		}
		fmt.Fprintf(log, "wrote OCI layout %s: %s@%s\n", o.ociLayout, tag, digest)
	}
	if o.tarball != "" {
		if err := tarball.WriteToFile(o.tarball, tag, img); err != nil {
			return v1.Hash{}, fmt.Errorf("tarball %s: %w", o.tarball, err)
		}
		fmt.Fprintf(log, "wrote tarball %s: %s, image ID %s\n", o.tarball, tag, id)
	}
	return digest, nil
}

// build returns the image and its name, REPOSITORY:VERSION.
func build(o options) (v1.Image, name.Tag, error) {
	tag, err := name.NewTag(o.repository + ":" + o.version)
	if err != nil {
		return nil, name.Tag{}, fmt.Errorf("image name from --repository and --version: %w", err)
	}
	if o.epoch < 0 {
		return nil, name.Tag{}, fmt.Errorf("--source-date-epoch %d is before 1970", o.epoch)
	}
	bin, err := os.ReadFile(o.binary)
	if err != nil {
		return nil, name.Tag{}, err
	}
	if err := checkBinary(bin, o.arch); err != nil {
		return nil, name.Tag{}, fmt.Errorf("%s: %w", o.binary, err)
	}
	mtime := time.Unix(o.epoch, 0).UTC()
	layerTar, err := layerContents(bin, mtime)
	if err != nil {
		return nil, name.Tag{}, err
	}
	// Compressed once, here: compress/gzip writes no time or name in its
	// header, so the same tar gives the same bytes.
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	if err != nil {
		return nil, name.Tag{}, err
	}
	if _, err := zw.Write(layerTar); err != nil {
		return nil, name.Tag{}, err
	}
	if err := zw.Close(); err != nil {
		return nil, name.Tag{}, err
	}
	compressed := gz.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, name.Tag{}, err
	}

	created := v1.Time{Time: mtime}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   created,
			CreatedBy: "hack/image: jobserver " + o.version,
		},
	})
	if err != nil {
		return nil, name.Tag{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, name.Tag{}, err
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = o.arch
	cf.Created = created
	labels := map[string]string{
		"org.opencontainers.image.source":  o.source,
		"org.opencontainers.image.version": o.version,
	}
	if o.revision != "" {
		labels["org.opencontainers.image.revision"] = o.revision
	}
	cf.Config = v1.Config{
		Entrypoint: []string{binaryPath},
		User:       fmt.Sprintf("%d:%d", nonroot, nonroot),
		WorkingDir: dataDir,
		Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Labels:     labels,
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, name.Tag{}, err
	}
	return img, tag, nil
}

// checkBinary refuses a binary the image could not run: not an ELF file of
// arch, or dynamically linked (the image has no libc or loader).
func checkBinary(bin []byte, arch string) error {
	want, ok := elfMachines[arch]
	if !ok {
		return fmt.Errorf("unsupported --arch %q", arch)
	}
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return fmt.Errorf("not an ELF binary: %w", err)
	}
	defer f.Close()
	if f.Machine != want {
		return fmt.Errorf("built for ELF machine %s, --arch %s needs %s", f.Machine, arch, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked; build it with CGO_ENABLED=0")
		}
	}
	return nil
}

// entry is one file or directory of the layer.
type entry struct {
	name     string // without a leading or trailing slash
	dir      bool
	mode     int64
	uid, gid int
	data     []byte
}

// layerContents returns the layer as an uncompressed tar: its entries sorted
// by name (a directory before its contents), all with mtime, owned by root
// except the directory nonroot writes to.
func layerContents(bin []byte, mtime time.Time) ([]byte, error) {
	passwd := "root:x:0:0:root:/root:/sbin/nologin\n" +
		fmt.Sprintf("nonroot:x:%d:%d:nonroot:%s:/sbin/nologin\n", nonroot, nonroot, dataDir)
	group := "root:x:0:\n" +
		fmt.Sprintf("nonroot:x:%d:\n", nonroot)
	entries := []entry{
		{name: "etc", dir: true, mode: 0o755},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "tmp", dir: true, mode: 0o1777},
		{name: "usr", dir: true, mode: 0o755},
		{name: "usr/local", dir: true, mode: 0o755},
		{name: "usr/local/bin", dir: true, mode: 0o755},
		{name: strings.TrimPrefix(binaryPath, "/"), mode: 0o755, data: bin},
		{name: "var", dir: true, mode: 0o755},
		{name: "var/lib", dir: true, mode: 0o755},
		{name: strings.TrimPrefix(dataDir, "/"), dir: true, mode: 0o755, uid: nonroot, gid: nonroot},
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name:     e.name,
			Typeflag: tar.TypeReg,
			Mode:     e.mode,
			Uid:      e.uid,
			Gid:      e.gid,
			Size:     int64(len(e.data)),
			ModTime:  mtime,
			Format:   tar.FormatUSTAR,
		}
		if e.dir {
			h.Name += "/"
			h.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeLayout writes img as the only image of a new OCI image layout in dir,
// named tag (the annotation org.opencontainers.image.ref.name) in index.json.
func writeLayout(dir string, img v1.Image, tag name.Tag, arch string) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return errors.New("exists and is not empty (remove it first)")
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img,
		layout.WithAnnotations(map[string]string{refNameAnnotation: tag.String()}),
		layout.WithPlatform(v1.Platform{OS: "linux", Architecture: arch}))
}
