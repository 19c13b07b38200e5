// The Go-template oracle: sprig and its dependencies pinned to the versions in the Go operator's go.mod
// (sprig v2.22.0, goutils 1.1.1, semver 1.5.0, xstrings 1.3.2, copystructure 1.2.0; mergo 0.3.5 and
// uuid 1.1.2 as pulled in by its Kubernetes 0.20 dependencies).
module github.com/rock8s/integration-operator/tools/gotemplate-oracle

go 1.26.0

require github.com/Masterminds/sprig v2.22.0+incompatible

require (
	github.com/Masterminds/goutils v1.1.1 // indirect
	github.com/Masterminds/semver v1.5.0 // indirect
	github.com/google/uuid v1.1.2 // indirect
	github.com/huandu/xstrings v1.3.2 // indirect
	github.com/imdario/mergo v0.3.5 // indirect
	github.com/mitchellh/copystructure v1.2.0 // indirect
	github.com/mitchellh/reflectwalk v1.0.2 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	gopkg.in/yaml.v2 v2.4.0 // indirect
)
