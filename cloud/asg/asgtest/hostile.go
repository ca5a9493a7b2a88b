package asgtest

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
)

// Hostile turns the server into a broken or hostile one, for testing how a
// client copes with answers it should not trust. Request sees (and may
// change) a request's parameters before the emulator reads them; Answer
// sees (and may change) every answer — status and the whole XML body —
// before it is sent. Either may be nil. Build them by hand or from the
// helpers (SetField, SetGroupField, RepeatNextToken, EmptyBody), combined
// with Join.
type Hostile struct {
	Request func(action string, form url.Values)
	Answer  func(a *Answer)
}

// Answer is a response on its way out.
type Answer struct {
	Service string // "autoscaling" or "ec2"
	Action  string
	Status  int
	Body    []byte
}

// SetHostile installs h (its zero value turns hostile mode off). The
// emulator's state changes as usual; only what the client sees differs.
func (s *Server) SetHostile(h Hostile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hostile = h
}

// Join runs several hostile behaviours, in order.
func Join(hs ...Hostile) Hostile {
	var out Hostile
	out.Request = func(action string, form url.Values) {
		for _, h := range hs {
			if h.Request != nil {
				h.Request(action, form)
			}
		}
	}
	out.Answer = func(a *Answer) {
		for _, h := range hs {
			if h.Answer != nil {
				h.Answer(a)
			}
		}
	}
	return out
}

// elementRE matches <name>text</name>.
func elementRE(name string) *regexp.Regexp {
	return regexp.MustCompile(`<` + regexp.QuoteMeta(name) + `>[^<]*</` + regexp.QuoteMeta(name) + `>`)
}

func elementXML(name, text string) []byte {
	return []byte("<" + name + ">" + escape(text) + "</" + name + ">")
}

// SetField sets the text of every <element> in successful answers to
// action: SetField("DescribeAutoScalingGroups", "DesiredCapacity",
// "2147483647"), SetField("DescribeInstanceTypes", "defaultVCpus", "-4").
func SetField(action, element, value string) Hostile {
	re, repl := elementRE(element), elementXML(element, value)
	return Hostile{Answer: func(a *Answer) {
		if a.Action == action && a.Status == http.StatusOK {
			a.Body = re.ReplaceAllLiteral(a.Body, repl)
		}
	}}
}

// SetGroupField is SetField limited to one group of DescribeAutoScalingGroups
// answers, so a test can break one group and watch the others keep working.
func SetGroupField(group, element, value string) Hostile {
	re, repl := elementRE(element), elementXML(element, value)
	start := []byte("<member><AutoScalingGroupName>" + escape(group) + "</AutoScalingGroupName>")
	next := []byte("<member><AutoScalingGroupName>")
	return Hostile{Answer: func(a *Answer) {
		if a.Action != "DescribeAutoScalingGroups" || a.Status != http.StatusOK {
			return
		}
		i := bytes.Index(a.Body, start)
		if i < 0 {
			return
		}
		end := len(a.Body)
		if j := bytes.Index(a.Body[i+len(start):], next); j >= 0 {
			end = i + len(start) + j
		} else if j := bytes.Index(a.Body[i:], []byte("</AutoScalingGroups>")); j >= 0 {
			end = i + j
		}
		span := re.ReplaceAllLiteral(a.Body[i:end], repl)
		a.Body = append(append(append([]byte{}, a.Body[:i]...), span...), a.Body[end:]...)
	}}
}

// repeatToken is the NextToken RepeatNextToken hands out.
const repeatToken = "asgtest-repeat"

// RepeatNextToken makes every answer to action carry the same NextToken,
// and answers a request with that token with the first page again: a
// paginator that trusts it loops forever.
func RepeatNextToken(action string) Hostile {
	return Hostile{
		Request: func(a string, form url.Values) {
			if a == action && form.Get("NextToken") == repeatToken {
				form.Del("NextToken")
			}
		},
		Answer: func(a *Answer) {
			if a.Action != action || a.Status != http.StatusOK {
				return
			}
			name, closing := "NextToken", "</"+action+"Result>"
			if a.Service == "ec2" {
				name, closing = "nextToken", "</"+action+"Response>"
			}
			tok := elementXML(name, repeatToken)
			if re := elementRE(name); re.Match(a.Body) {
				a.Body = re.ReplaceAllLiteral(a.Body, tok)
				return
			}
			if i := bytes.LastIndex(a.Body, []byte(closing)); i >= 0 {
				a.Body = append(append(append([]byte{}, a.Body[:i]...), tok...), a.Body[i:]...)
			}
		},
	}
}

// EmptyBody answers action with HTTP 200 and an empty body (the action is
// still applied), which the SDK reads as an empty result.
func EmptyBody(action string) Hostile {
	return Hostile{Answer: func(a *Answer) {
		if a.Action == action {
			a.Status, a.Body = http.StatusOK, nil
		}
	}}
}

// recorder buffers an answer so a Hostile hook can rewrite it.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }
