package inputs

// The CI systems: how to tell which one runs the step, which variables it
// passes the step's inputs in, where its checkout is, and the registry
// credentials it hands its jobs.

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
)

// System is the CI system the step runs in.
type System string

// The CI systems DetectSystem tells apart. Tekton has no marker variable of
// its own: it runs as SystemGeneric with outputs_format "tekton".
const (
	SystemGitHub     System = "github"
	SystemGitLab     System = "gitlab"
	SystemDrone      System = "drone"
	SystemWoodpecker System = "woodpecker"
	SystemGeneric    System = "generic"
)

// DetectSystem tells the CI system from its marker variables, in this order:
// GITHUB_ACTIONS=true is GitHub Actions, DRONE=true Drone, CI=woodpecker or
// CI_SYSTEM_NAME=woodpecker Woodpecker, GITLAB_CI=true GitLab CI; anything
// else is SystemGeneric.
func DetectSystem(getenv func(string) string) System {
	if getenv == nil {
		return SystemGeneric
	}
	is := func(name, want string) bool { return strings.TrimSpace(getenv(name)) == want }
	switch {
	case is("GITHUB_ACTIONS", "true"):
		return SystemGitHub
	case is("DRONE", "true"):
		return SystemDrone
	case is("CI", "woodpecker"), is("CI_SYSTEM_NAME", "woodpecker"):
		return SystemWoodpecker
	case is("GITLAB_CI", "true"):
		return SystemGitLab
	}
	return SystemGeneric
}

// Variables of the CI systems FromStep reads besides the inputs.
const (
	envGitHubWorkspace     = "GITHUB_WORKSPACE"
	envGitHubActor         = "GITHUB_ACTOR"
	envGitLabProjectDir    = "CI_PROJECT_DIR"
	envGitLabRegistry      = "CI_REGISTRY"
	envGitLabRegistryUser  = "CI_REGISTRY_USER"
	envGitLabRegistryPass  = "CI_REGISTRY_PASSWORD"
	envDroneWorkspace      = "DRONE_WORKSPACE"
	envWoodpeckerWorkspace = "CI_WORKSPACE"
)

// ghcrHost is the only registry the github_token input is ever sent to.
const ghcrHost = "ghcr.io"

// workspaceVar is the variable naming the checkout directory on sys; ""
// where there is none (the working directory is the workspace).
func workspaceVar(sys System) string {
	switch sys {
	case SystemGitHub:
		return envGitHubWorkspace
	case SystemGitLab:
		return envGitLabProjectDir
	case SystemDrone:
		return envDroneWorkspace
	case SystemWoodpecker:
		return envWoodpeckerWorkspace
	}
	return ""
}

// inputVars lists the variables an input is read from on sys, highest
// priority first; the last is always MANIFESTO_<NAME>.
func inputVars(sys System, input string) []string {
	up := strings.ToUpper(input)
	var vs []string
	switch sys {
	case SystemGitHub:
		vs = append(vs, "INPUT_"+up)
	case SystemDrone, SystemWoodpecker:
		// Woodpecker turns '-' and '.' of a setting name into '_'; Drone
		// keeps them, so a "media-type" setting arrives as
		// PLUGIN_MEDIA-TYPE there.
		vs = append(vs, "PLUGIN_"+up)
		if strings.Contains(up, "_") {
			vs = append(vs, "PLUGIN_"+strings.ReplaceAll(up, "_", "-"))
		}
	}
	return append(vs, EnvName(input))
}

// credentials checks the username/password pair and reads github_token.
//
// DECISION: the github_token input (the action passes ${{ github.token }}) is
// not the password's default. It is sent only to ghcr.io, and only when
// neither username nor password is set: a password default would hand the
// workflow's token to whatever registry the image names, including one the
// workflow's author does not control.
func (b *stepBuilder) credentials() error {
	u, p := b.in[inUsername], b.in[inPassword]
	switch {
	case p.value != "" && u.value == "":
		return errdef.Usagef("input \"password\" is set (%s) but input \"username\" is empty (%s)", p.from, b.setHint(inUsername))
	case u.value != "" && p.value == "":
		return errdef.Usagef("input \"username\" is set (%s) but input \"password\" is empty (%s)", u.from, b.setHint(inPassword))
	}
	b.username, b.password = u.value, p.value
	b.secrets.AddBasic(b.username, b.password)
	b.githubToken = b.in[inGitHubToken].value
	return nil
}

// registry returns the connection settings for one image: the username and
// password inputs when set; otherwise, on GitLab, CI_REGISTRY_USER and
// CI_REGISTRY_PASSWORD for an image on CI_REGISTRY; on GitHub, GITHUB_ACTOR
// and github_token for an image on ghcr.io; otherwise anonymous.
func (b *stepBuilder) registry(image string) steps.RegistryOptions {
	r := steps.RegistryOptions{
		Username:  b.username,
		Password:  b.password,
		PlainHTTP: b.plainHTTP,
		Insecure:  b.insecure,
	}
	if r.Username != "" || r.Password != "" {
		return r
	}
	loc, err := store.ParseImage(image, b.plainHTTP)
	if err != nil || loc.IsLayout() {
		return r
	}
	host := loc.Ref.Context().RegistryStr()
	switch b.sys {
	case SystemGitLab:
		reg := strings.TrimSpace(b.getenv(envGitLabRegistry))
		user := strings.TrimSpace(b.getenv(envGitLabRegistryUser))
		pass := strings.TrimSpace(b.getenv(envGitLabRegistryPass))
		if reg != "" && user != "" && pass != "" && sameRegistry(host, reg) {
			r.Username, r.Password = user, pass
			b.secrets.AddBasic(user, pass)
		}
	case SystemGitHub:
		actor := strings.TrimSpace(b.getenv(envGitHubActor))
		if b.githubToken != "" && actor != "" && strings.EqualFold(host, ghcrHost) {
			r.Username, r.Password = actor, b.githubToken
			b.secrets.AddBasic(actor, b.githubToken)
		}
	}
	return r
}

// sameRegistry compares an image's registry with a host[:port] as CI systems
// give it, normalised the way image references are (docker.io is
// index.docker.io).
func sameRegistry(host, other string) bool {
	if reg, err := name.NewRegistry(other); err == nil {
		other = reg.RegistryStr()
	}
	return strings.EqualFold(host, other)
}
